/* The follow-up page (进度查询): looks a receipt code up at /api/v1/receipts/{code}.
   The code may come prefilled from /receipt?code=...; it is never written back to the URL. */
(function () {
  'use strict';

  var Site = window.Site;
  var el = {};
  var result = null;  // {status, data} | {error: message}
  var codeError = null;
  var inFlight = false;

  function text(message) {
    if (!message) return '';
    return message.key ? Site.t(message.key, message.vars) : Site.pickMessage(message);
  }

  function cleaned(raw) { return raw.replace(/\s+/g, ''); }

  function renderCodeError() {
    el.codeError.textContent = text(codeError);
    el.codeError.hidden = !codeError;
    el.code.closest('.field').classList.toggle('has-error', Boolean(codeError));
    if (codeError) el.code.setAttribute('aria-invalid', 'true');
    else el.code.removeAttribute('aria-invalid');
  }

  function row(list, labelKey, value, className) {
    var term = document.createElement('dt');
    term.textContent = Site.t(labelKey);
    var detail = document.createElement('dd');
    detail.textContent = value;
    if (className) detail.className = className;
    list.appendChild(term);
    list.appendChild(detail);
  }

  function renderResult() {
    el.result.replaceChildren();
    if (!result) return;
    if (result.error) {
      var alert = document.createElement('p');
      alert.className = 'alert ' + (result.tone === 'warning' ? 'alert-warning' : 'alert-error');
      alert.textContent = text(result.error);
      el.result.appendChild(alert);
      return;
    }
    var data = result.data;
    var card = document.createElement('div');
    card.className = 'card result-card';
    var heading = document.createElement('h2');
    heading.textContent = Site.t('follow.result_heading');
    var status = Site.lang() === 'en' ? data.status_en : data.status_zh;
    var list = document.createElement('dl');
    list.className = 'facts';
    row(list, 'follow.status', status || data.status, 'status status-' + data.status);
    row(list, 'follow.submitted_at', Site.formatDateTime(data.submitted_at));
    row(list, 'follow.updated_at', Site.formatDateTime(data.updated_at));
    card.appendChild(heading);
    card.appendChild(list);
    var explain = Site.t('follow.status_' + data.status);
    if (explain.indexOf('follow.') !== 0) {
      var note = document.createElement('p');
      note.className = 'status-note';
      note.textContent = explain;
      card.appendChild(note);
    }
    el.result.appendChild(card);
  }

  function setBusy(busy) {
    inFlight = busy;
    el.submit.disabled = busy;
    el.submit.setAttribute('aria-busy', busy ? 'true' : 'false');
    el.submit.textContent = Site.t(busy ? 'follow.searching' : 'follow.submit');
  }

  function answered(reply) {
    var detail = reply.body && reply.body.detail;
    if (reply.status === 200 && reply.body && reply.body.status) {
      result = { data: reply.body };
    } else if (reply.status === 404) {
      result = { error: { key: 'follow.not_found' } };
    } else if (reply.status >= 500) {
      result = { error: { key: 'follow.unavailable' }, tone: 'warning' };
    } else if (detail && detail.message_zh) {
      result = { error: { zh: detail.message_zh, en: detail.message } };
    } else {
      result = { error: { key: 'follow.unexpected', vars: { status: reply.status } } };
    }
  }

  function lookUp(event) {
    if (event) event.preventDefault();
    if (inFlight) return;
    var code = cleaned(el.code.value);
    codeError = !code ? { key: 'follow.code_required' }
      : (code.length < 8 || code.length > 40) ? { key: 'follow.code_shape' } : null;
    renderCodeError();
    if (codeError) {
      result = null;
      renderResult();
      el.code.focus();
      return;
    }
    setBusy(true);
    Site.requestJSON('/api/v1/receipts/' + encodeURIComponent(code), { method: 'GET' }, 20000)
      .then(answered, function (failure) {
        result = { error: { key: failure.kind === 'timeout' ? 'follow.unavailable'
          : 'follow.network' }, tone: 'warning' };
      })
      .then(function () {
        setBusy(false);
        renderResult();
      });
  }

  function relabel() {
    renderCodeError();
    renderResult();
    if (!inFlight) el.submit.textContent = Site.t('follow.submit');
  }

  function init() {
    Site.start();
    el.form = document.getElementById('follow-form');
    el.code = document.getElementById('code');
    el.codeError = document.getElementById('code-error');
    el.submit = document.getElementById('follow-submit');
    el.result = document.getElementById('follow-result');
    el.form.addEventListener('submit', lookUp);
    el.code.addEventListener('input', function () {
      if (codeError) { codeError = null; renderCodeError(); }
    });
    Site.onChange(relabel);
    el.form.hidden = false;
    Site.loadCampaign().catch(function () { /* the masthead keeps its built-in text */ });

    var given = new URLSearchParams(window.location.search).get('code');
    if (given) {
      el.code.value = given.trim();
      lookUp();
    } else {
      el.code.focus();
    }
  }

  init();
})();
