/* The follow-up page (进度查询): looks a receipt code up (POST /api/v1/receipts/lookup) and
   shows the case's stages with their dates; while it is open, lets the reporter add
   information and photos (POST /api/v1/receipts/supplement, multipart); once it has an
   outcome, asks whether it satisfies them (POST /api/v1/receipts/satisfaction, 回访满意度);
   once it is closed, lets them dispute the outcome (POST /api/v1/receipts/dispute). The code travels only in request bodies, never in a URL
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
    renderStages(card, data.stages || []);
    el.result.appendChild(card);
  }

  /* ---- the stages the reporter may see (办理进程), oldest first ------------------------------ */

  function renderStages(card, stages) {
    var heading = document.createElement('h3');
    heading.className = 'stages-heading';
    heading.textContent = Site.t('stages.heading');
    card.appendChild(heading);
    if (!stages.length) {
      var none = document.createElement('p');
      none.className = 'stage-words';
      none.textContent = Site.t('stages.none');
      card.appendChild(none);
      return;
    }
    var list = document.createElement('ol');
    list.className = 'timeline';
    list.id = 'stages';
    stages.forEach(function (stage) {
      var item = document.createElement('li');
      item.setAttribute('data-stage', stage.stage);
      var label = document.createElement('span');
      label.className = 'stage-label';
      label.textContent = Site.lang() === 'en' ? stage.label_en : stage.label_zh;
      var when = document.createElement('time');
      when.className = 'stage-time';
      when.setAttribute('datetime', stage.at);
      when.textContent = Site.formatDateTime(stage.at);
      var words = document.createElement('p');
      words.className = 'stage-words';
      words.textContent = stage.public_findings
        ? Site.t('stages.public_words') + stage.public_findings
        : (Site.lang() === 'en' ? stage.standard_en : stage.standard_zh)
          + (stage.photos ? (Site.lang() === 'en' ? ' ' : '')
            + Site.t('stages.photos', { n: stage.photos }) : '');
      item.appendChild(label);
      item.appendChild(when);
      item.appendChild(words);
      list.appendChild(item);
    });
    card.appendChild(list);
  }

  /* ---- a refusal in the reader's language ------------------------------------------------ */

  function refusalOf(reply) {
    var detail = reply.body && reply.body.detail;
    if (reply.status === 404) return { key: 'dispute.not_found' };
    if (reply.status === 429) return { key: 'follow.unavailable' };
    if (reply.status >= 500) return { key: 'follow.unavailable' };
    if (Array.isArray(detail) && detail[0] && detail[0].message_zh) {
      return { zh: detail[0].message_zh, en: detail[0].msg };
    }
    if (detail && detail.message_zh) return { zh: detail.message_zh, en: detail.message };
    return { key: 'follow.unexpected', vars: { status: reply.status } };
  }

  function showField(input, errorNode, message) {
    errorNode.textContent = text(message);
    errorNode.hidden = !message;
    input.closest('.field').classList.toggle('has-error', Boolean(message));
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  function showBox(node, message, ok) {
    Site.clear(node);
    if (!message) return;
    var box = document.createElement('p');
    box.className = 'alert ' + (ok ? 'alert-success' : 'alert-error');
    box.textContent = text(message);
    node.appendChild(box);
  }

  /* ---- 补充材料: information and photos for an open case ------------------------------------ */

  var PHOTOS_MAX = 5;
  var supplement = { state: 'idle', error: null, textError: null, photosError: null };

  function renderSupplement() {
    var data = result && result.data;
    el.supplement.hidden = !(data && data.may_supplement) && supplement.state !== 'done';
    el.supplementSubmit.disabled = supplement.state === 'sending';
    el.supplementSubmit.textContent = Site.t(supplement.state === 'sending'
      ? 'supplement.sending' : 'supplement.submit');
    el.photosHint.textContent = Site.t('supplement.photos_hint', { n: PHOTOS_MAX });
    showField(el.supplementText, el.supplementTextError, supplement.textError);
    showField(el.photos, el.photosError, supplement.photosError);
    showBox(el.supplementResult, supplement.state === 'done' ? { key: 'supplement.done' }
      : supplement.error, supplement.state === 'done');
  }

  function sendSupplement(event) {
    event.preventDefault();
    if (supplement.state === 'sending' || !currentCode) return;
    var words = el.supplementText.value.trim();
    var have = Array.from(words).length;
    var photos = Array.from(el.photos.files || []);
    supplement = { state: 'idle', error: null, photosError: null,
      textError: !have ? { key: 'err.required' }
        : have < 5 ? { key: 'err.too_short', vars: { n: 5, have: have } }
          : have > 2000 ? { key: 'err.too_long', vars: { n: 2000, have: have } } : null };
    if (photos.length > PHOTOS_MAX) {
      supplement.photosError = { key: 'supplement.too_many', vars: { n: PHOTOS_MAX } };
    }
    if (supplement.textError || supplement.photosError) {
      renderSupplement();
      (supplement.textError ? el.supplementText : el.photos).focus();
      return;
    }
    var form = new FormData();  /* the code and the words before the photos */
    form.append('receipt_code', currentCode);
    form.append('text', words);
    photos.forEach(function (file) { form.append('photo', file, file.name); });
    supplement.state = 'sending';
    renderSupplement();
    Site.requestJSON('/api/v1/receipts/supplement', { method: 'POST', body: form }, 120000)
      .then(function (reply) {
        if (reply.status === 200) {
          supplement = { state: 'done', error: null, textError: null, photosError: null };
          el.supplementText.value = '';
          el.photos.value = '';
          lookUp(null, currentCode);
          return;
        }
        supplement.state = 'idle';
        supplement.error = refusalOf(reply);
      }, function (failure) {
        supplement.state = 'idle';
        supplement.error = { key: failure.kind === 'timeout' ? 'follow.unavailable'
          : 'follow.network' };
      }).then(renderSupplement);
  }

  /* ---- 回访满意度: the return visit ------------------------------------------------------------ */

  var rating = { state: 'idle', error: null, choiceError: null, reasonError: null };

  function chosen() {
    var picked = el.ratingForm.querySelector('input[name="satisfaction"]:checked');
    return picked ? picked.value : '';
  }

  function renderRating() {
    var data = result && result.data;
    var given = data && data.rating;
    el.rating.hidden = !(data && (data.may_rate || given)) && rating.state !== 'done';
    el.ratingForm.hidden = !(data && data.may_rate) || rating.state === 'done';
    el.ratingLead.hidden = el.ratingForm.hidden;
    el.ratingGiven.hidden = !given;
    el.ratingGiven.textContent = given ? Site.t('rate.given', {
      label: Site.lang() === 'en' ? given.label_en : given.label_zh,
      on: Site.formatDate(given.on) }) : '';
    el.ratingSubmit.disabled = rating.state === 'sending';
    el.ratingSubmit.textContent = Site.t(rating.state === 'sending' ? 'rate.sending'
      : 'rate.submit');
    el.satisfactionError.textContent = text(rating.choiceError);
    el.satisfactionError.hidden = !rating.choiceError;
    showField(el.ratingReason, el.ratingReasonError, rating.reasonError);
    showBox(el.ratingResult, rating.state === 'done' ? { key: 'rate.done' } : rating.error,
      rating.state === 'done');
  }

  function sendRating(event) {
    event.preventDefault();
    if (rating.state === 'sending' || !currentCode) return;
    var value = chosen();
    var reason = el.ratingReason.value.trim();
    var have = Array.from(reason).length;
    rating = { state: 'idle', error: null,
      choiceError: value ? null : { key: 'rate.choose' },
      reasonError: value === 'not_satisfied' && !have ? { key: 'err.required' }
        : have > 2000 ? { key: 'err.too_long', vars: { n: 2000, have: have } } : null };
    if (rating.choiceError || rating.reasonError) {
      renderRating();
      (rating.choiceError ? el.ratingForm.querySelector('input[name="satisfaction"]')
        : el.ratingReason).focus();
      return;
    }
    rating.state = 'sending';
    renderRating();
    Site.requestJSON('/api/v1/receipts/satisfaction', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ receipt_code: currentCode, satisfaction: value,
        reason: reason || null })
    }, 30000).then(function (reply) {
      if (reply.status === 200) {
        rating = { state: 'done', error: null, choiceError: null, reasonError: null };
        el.ratingReason.value = '';
        lookUp(null, currentCode);
        return;
      }
      rating.state = 'idle';
      rating.error = refusalOf(reply);
    }, function (failure) {
      rating.state = 'idle';
      rating.error = { key: failure.kind === 'timeout' ? 'follow.unavailable' : 'follow.network' };
    }).then(renderRating);
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
    if (code !== currentCode) {
      dispute = { state: 'idle', error: null, fieldError: null };
      supplement = { state: 'idle', error: null, textError: null, photosError: null };
      rating = { state: 'idle', error: null, choiceError: null, reasonError: null };
    }
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
      renderSupplement();
      renderRating();
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
        renderSupplement();
        renderRating();
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
    renderSupplement();
    renderRating();
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
    el.supplement = document.getElementById('supplement');
    el.supplementText = document.getElementById('supplement-text');
    el.supplementTextError = document.getElementById('supplement-text-error');
    el.photos = document.getElementById('supplement-photos');
    el.photosHint = document.getElementById('supplement-photos-hint');
    el.photosError = document.getElementById('supplement-photos-error');
    el.supplementSubmit = document.getElementById('supplement-submit');
    el.supplementResult = document.getElementById('supplement-result');
    el.rating = document.getElementById('rating');
    el.ratingForm = document.getElementById('rating-form');
    el.ratingLead = document.getElementById('rating-lead');
    el.ratingGiven = document.getElementById('rating-given');
    el.ratingReason = document.getElementById('rating-reason');
    el.ratingReasonError = document.getElementById('rating-reason-error');
    el.satisfactionError = document.getElementById('satisfaction-error');
    el.ratingSubmit = document.getElementById('rating-submit');
    el.ratingResult = document.getElementById('rating-result');
    el.supplementForm = document.getElementById('supplement-form');
    el.supplementForm.addEventListener('submit', sendSupplement);
    el.ratingForm.addEventListener('submit', sendRating);
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
