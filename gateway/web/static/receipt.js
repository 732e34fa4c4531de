/* The follow-up page (进度查询): looks a receipt code up (POST /api/v1/receipts/lookup) and,
   once a case is closed, lets the reporter dispute the outcome (POST
   /api/v1/receipts/dispute). The code travels only in request bodies, never in a URL
   (server logs, browser history); the report page hands it over through this tab's
   sessionStorage, read once and removed. */
(function () {
  'use strict';

  var Site = window.Site;
  var el = {};
  var result = null;  // {status, data} | {error: message}
  var codeError = null;
  var inFlight = false;
  var currentCode = null;  // the code of the result shown
  var dispute = { state: 'idle', error: null, fieldError: null };

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
    Site.clear(el.result);
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
    if (data.outcome) {
      var outcome = Site.lang() === 'en' ? data.outcome_en : data.outcome_zh;
      row(list, 'follow.outcome', outcome || data.outcome);
    }
    card.appendChild(heading);
    card.appendChild(list);
    if (data.merged) {
      var merged = document.createElement('p');
      merged.className = 'status-note';
      merged.id = 'merged-note';
      merged.textContent = Site.lang() === 'en' ? data.merged_en : data.merged_zh;
      card.appendChild(merged);
    }
    var explain = Site.t('follow.status_' + data.status);
    if (explain.indexOf('follow.') !== 0) {
      var note = document.createElement('p');
      note.className = 'status-note';
      note.textContent = explain;
      card.appendChild(note);
    }
    el.result.appendChild(card);
  }

  /* ---- dispute of a closed case --------------------------------------------------------- */

  function renderDispute() {
    var data = result && result.data;
    var open = Boolean(data && data.may_dispute) || dispute.state === 'done';
    el.dispute.hidden = !open;
    el.disputeForm.hidden = dispute.state === 'done';
    el.disputeSubmit.disabled = dispute.state === 'sending';
    el.disputeSubmit.textContent = Site.t(dispute.state === 'sending' ? 'dispute.sending'
      : 'dispute.submit');
    el.reasonError.textContent = text(dispute.fieldError);
    el.reasonError.hidden = !dispute.fieldError;
    el.reason.closest('.field').classList.toggle('has-error', Boolean(dispute.fieldError));
    if (dispute.fieldError) el.reason.setAttribute('aria-invalid', 'true');
    else el.reason.removeAttribute('aria-invalid');
    Site.clear(el.disputeResult);
    var message = dispute.state === 'done' ? { key: 'dispute.done' } : dispute.error;
    if (message) {
      var box = document.createElement('p');
      box.className = 'alert ' + (dispute.state === 'done' ? 'alert-success' : 'alert-error');
      box.textContent = text(message);
      el.disputeResult.appendChild(box);
    }
  }

  function disputeAnswered(reply) {
    var detail = reply.body && reply.body.detail;
    if (reply.status === 200) {
      dispute = { state: 'done', error: null, fieldError: null };
      el.reason.value = '';
      setTimeout(function () { lookUp(null, currentCode); }, 1500);
      return;
    }
    dispute.state = 'idle';
    if (reply.status === 422 && Array.isArray(detail)) {
      var first = detail[0] || {};
      var ctx = first.ctx || {};
      dispute.fieldError = first.type === 'string_too_short'
        ? { key: 'err.min_length', vars: { n: ctx.min_length } }
        : first.type === 'string_too_long' ? { key: 'err.max_length', vars: { n: ctx.max_length } }
          : { key: 'err.invalid' };
    } else if (reply.status === 404) {
      dispute.error = { key: 'dispute.not_found' };
    } else if (reply.status >= 500) {
      dispute.error = { key: 'follow.unavailable' };
    } else if (detail && detail.message_zh) {
      dispute.error = { zh: detail.message_zh, en: detail.message };
    } else {
      dispute.error = { key: 'follow.unexpected', vars: { status: reply.status } };
    }
  }

  function sendDispute(event) {
    event.preventDefault();
    if (dispute.state === 'sending' || !currentCode) return;
    var reason = el.reason.value.trim();
    var have = Array.from(reason).length;
    dispute.error = null;
    dispute.fieldError = !have ? { key: 'err.required' }
      : have < 5 ? { key: 'err.too_short', vars: { n: 5, have: have } }
        : have > 2000 ? { key: 'err.too_long', vars: { n: 2000, have: have } } : null;
    if (dispute.fieldError) {
      renderDispute();
      el.reason.focus();
      return;
    }
    dispute.state = 'sending';
    renderDispute();
    Site.requestJSON('/api/v1/receipts/dispute', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ receipt_code: currentCode, reason: reason })
    }, 30000).then(disputeAnswered, function (failure) {
      dispute.state = 'idle';
      dispute.error = { key: failure.kind === 'timeout' ? 'follow.unavailable' : 'follow.network' };
    }).then(renderDispute);
  }

  function setBusy(busy) {
    inFlight = busy;
    el.submit.disabled = busy;
    el.submit.setAttribute('aria-busy', busy ? 'true' : 'false');
    el.submit.textContent = Site.t(busy ? 'follow.searching' : 'follow.submit');
  }

  function answered(reply, code) {
    var detail = reply.body && reply.body.detail;
    if (code !== currentCode) dispute = { state: 'idle', error: null, fieldError: null };
    currentCode = null;
    if (reply.status === 200 && reply.body && reply.body.status) {
      result = { data: reply.body };
      currentCode = code;
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

  function lookUp(event, again) {
    if (event) event.preventDefault();
    if (inFlight) return;
    var code = again || cleaned(el.code.value);
    codeError = !code ? { key: 'follow.code_required' }
      : (code.length < 8 || code.length > 40) ? { key: 'follow.code_shape' } : null;
    renderCodeError();
    if (codeError) {
      result = null;
      currentCode = null;
      renderResult();
      renderDispute();
      el.code.focus();
      return;
    }
    setBusy(true);
    Site.requestJSON('/api/v1/receipts/lookup', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ receipt_code: code })
    }, 20000)
      .then(function (reply) { answered(reply, code); }, function (failure) {
        result = { error: { key: failure.kind === 'timeout' ? 'follow.unavailable'
          : 'follow.network' }, tone: 'warning' };
      })
      .then(function () {
        setBusy(false);
        renderResult();
        renderDispute();
      });
  }

  function handedOver() {
    /* an old link (/receipt?code=...) still works once, and leaves the address bar and
       the history entry without the code */
    var params = new URLSearchParams(window.location.search);
    var fromLink = params.get('code');
    if (fromLink !== null) {
      params.delete('code');
      var rest = params.toString();
      window.history.replaceState(null, '', window.location.pathname + (rest ? '?' + rest : ''));
    }
    try {
      var code = window.sessionStorage.getItem('receipt-code');
      window.sessionStorage.removeItem('receipt-code');
      return code || fromLink;
    } catch (e) {
      return fromLink;
    }
  }

  function relabel() {
    renderCodeError();
    renderResult();
    renderDispute();
    if (!inFlight) el.submit.textContent = Site.t('follow.submit');
  }

  function init() {
    Site.start();
    el.form = document.getElementById('follow-form');
    el.code = document.getElementById('code');
    el.codeError = document.getElementById('code-error');
    el.submit = document.getElementById('follow-submit');
    el.result = document.getElementById('follow-result');
    el.dispute = document.getElementById('dispute');
    el.disputeForm = document.getElementById('dispute-form');
    el.disputeSubmit = document.getElementById('dispute-submit');
    el.disputeResult = document.getElementById('dispute-result');
    el.reason = document.getElementById('reason');
    el.reasonError = document.getElementById('reason-error');
    el.form.addEventListener('submit', lookUp);
    el.disputeForm.addEventListener('submit', sendDispute);
    el.reason.addEventListener('input', function () {
      if (dispute.fieldError) { dispute.fieldError = null; renderDispute(); }
    });
    el.code.addEventListener('input', function () {
      if (codeError) { codeError = null; renderCodeError(); }
    });
    Site.onChange(relabel);
    el.form.hidden = false;
    Site.loadCampaign().catch(function () { /* the masthead keeps its built-in text */ });

    var given = handedOver();
    if (given) {
      el.code.value = given.trim();
      lookUp();
    } else {
      el.code.focus();
    }
  }

  init();
})();
