/* The public report form (公开举报平台): fills its choices from /api/v1/campaign and posts the
   report to /api/v1/clues with one Idempotency-Key per filled-in form, reused on every retry. */
(function () {
  'use strict';

  var Site = window.Site;
  var CHANNEL = 'public_report_platform';
  /* the organization types a report may be about (被反映单位), in this order: the units,
     then the supervising bodies (县教育局, 县监察局 …) of the campaign file */
  var UNIT_GROUPS = ['township', 'party_department', 'government_department', 'school',
    'enterprise', 'supervisor'];
  var LIMITS = { title: [2, 200], description: [5, 5000], place: [0, 200], name: [0, 50] };
  var PHONE = /^\+?[0-9][0-9\- ]{5,19}$/;
  var EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
  var FIELDS = ['title', 'description', 'kind', 'category', 'subject_unit', 'place',
    'occurred_on', 'reporter', 'name', 'phone', 'email'];
  var FIELD_LABELS = {
    title: 'report.title', description: 'report.description', kind: 'report.kind',
    category: 'report.category', subject_unit: 'report.subject_unit', place: 'report.place',
    occurred_on: 'report.occurred_on', reporter: 'report.section_reporter', name: 'report.name',
    phone: 'report.phone', email: 'report.email'
  };

  var el = {};
  var campaignData = null;
  var idempotencyKey = newKey();
  var inFlight = false;
  var fieldErrors = {};   // field -> message
  var formMessage = null; // message shown above the form
  var loadState = 'loading';

  /* A message is {key, vars} (ours) or {zh, en} (the server's); shown in the current language. */
  function text(message) {
    if (!message) return '';
    return message.key ? Site.t(message.key, message.vars) : Site.pickMessage(message);
  }

  function newKey() {
    var cryptoObj = window.crypto;
    if (cryptoObj && typeof cryptoObj.randomUUID === 'function') {
      return cryptoObj.randomUUID();
    }
    /* randomUUID needs a secure context; getRandomValues does not (plain-HTTP intranet). */
    var bytes = cryptoObj.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join('');
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
      hex.slice(20)].join('-');
  }

  function input(name) { return el.form.elements.namedItem(name); }

  function chars(value) { return Array.from(value).length; }

  function todayISO() {
    var now = new Date();
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    return now.getFullYear() + '-' + pad(now.getMonth() + 1) + '-' + pad(now.getDate());
  }

  /* ---- choices from the campaign ------------------------------------------------------- */

  function option(value, label) {
    var node = document.createElement('option');
    node.value = value;
    node.textContent = label;
    return node;
  }

  function fillSelect(select, items, placeholderKey) {
    var keep = select.value;
    Site.clear(select).appendChild(option('', Site.t(placeholderKey)));
    items.forEach(function (item) { select.appendChild(option(item.code, Site.name(item))); });
    select.value = keep;
  }

  function fillUnits(select, organizations) {
    var keep = select.value;
    Site.clear(select).appendChild(option('', Site.t('report.unit_unknown')));
    UNIT_GROUPS.forEach(function (type) {
      var members = organizations.filter(function (org) { return org.type === type; });
      if (!members.length) return;
      var group = document.createElement('optgroup');
      group.label = Site.t('group.' + type);
      members.forEach(function (org) { group.appendChild(option(org.code, Site.name(org))); });
      select.appendChild(group);
    });
    select.value = keep;
  }

  function showCategoryHelp() {
    var help = el.categoryHelp;
    var chosen = campaignData && campaignData.categories.filter(function (c) {
      return c.code === input('category').value;
    })[0];
    var description = chosen && Site.lang() === 'zh' ? chosen.description_zh : '';
    help.textContent = description || '';
    help.hidden = !description;
  }

  function renderChoices() {
    var selects = [input('kind'), input('category'), input('subject_unit')];
    if (!campaignData) {
      selects.forEach(function (s) {
        if (!s.options.length) s.appendChild(option('', Site.t('report.not_chosen')));
        s.disabled = true;
      });
      return;
    }
    fillSelect(input('kind'), campaignData.kinds, 'report.not_chosen');
    fillSelect(input('category'), campaignData.categories, 'report.not_chosen');
    fillUnits(input('subject_unit'), campaignData.organizations);
    selects.forEach(function (s) { s.disabled = false; });
    showCategoryHelp();
  }

  function renderLoadState() {
    el.loadStatus.hidden = loadState === 'ready';
    el.loadRetry.hidden = loadState !== 'failed';
    el.loadMessage.textContent = loadState === 'failed' ? Site.t('site.load_failed')
      : loadState === 'loading' ? Site.t('report.loading') : '';
    el.loadStatus.classList.toggle('alert', loadState === 'failed');
    el.loadStatus.classList.toggle('alert-error', loadState === 'failed');
  }

  function load() {
    loadState = 'loading';
    renderLoadState();
    Site.loadCampaign().then(function (data) {
      campaignData = data;
      loadState = 'ready';
    }, function () {
      loadState = 'failed';
    }).then(function () {
      renderLoadState();
      renderChoices();
    });
  }

  /* ---- errors -------------------------------------------------------------------------- */

  function renderErrors() {
    FIELDS.forEach(function (field) {
      var box = document.getElementById(field + '-error');
      var control = input(field);
      var message = fieldErrors[field];
      box.textContent = message ? text(message) : '';
      box.hidden = !message;
      var wrapper = box.closest('.field');
      if (wrapper) wrapper.classList.toggle('has-error', Boolean(message));
      if (control && control.setAttribute) {
        if (message) control.setAttribute('aria-invalid', 'true');
        else control.removeAttribute('aria-invalid');
      }
    });
    if (fieldErrors.reporter) {
      ['phone', 'email'].forEach(function (f) { input(f).setAttribute('aria-invalid', 'true'); });
    }
    renderFormAlert();
  }

  function renderFormAlert() {
    var box = el.formAlert;
    var listed = FIELDS.filter(function (f) { return fieldErrors[f]; });
    Site.clear(box);
    if (!formMessage && !listed.length) {
      box.hidden = true;
      return;
    }
    box.className = 'alert ' + (formMessage && formMessage.tone === 'warning'
      ? 'alert-warning' : 'alert-error');
    if (formMessage) {
      var lead = document.createElement('p');
      lead.textContent = text(formMessage);
      box.appendChild(lead);
    }
    if (listed.length) {
      var intro = document.createElement('p');
      intro.textContent = Site.t('err.fix_below');
      var list = document.createElement('ul');
      listed.forEach(function (field) {
        var item = document.createElement('li');
        var link = document.createElement('a');
        link.href = '#' + (field === 'reporter' ? 'phone' : field);
        link.textContent = Site.t('err.item', { label: Site.t(FIELD_LABELS[field]),
          message: text(fieldErrors[field]) });
        item.appendChild(link);
        list.appendChild(item);
      });
      box.appendChild(intro);
      box.appendChild(list);
    }
    box.hidden = false;
  }

  function showProblems(errors, message) {
    fieldErrors = errors || {};
    formMessage = message || null;
    renderErrors();
    var first = FIELDS.filter(function (f) { return fieldErrors[f]; })[0];
    if (first) {
      var target = first === 'reporter' ? input('phone') : input(first);
      (target || el.formAlert).focus();
    } else if (formMessage) {
      el.formAlert.focus();
    }
  }

  function clearFieldError(field) {
    var touched = fieldErrors[field] || (fieldErrors.reporter &&
      (field === 'phone' || field === 'email'));
    if (!touched) return;
    delete fieldErrors[field];
    if (field === 'phone' || field === 'email') delete fieldErrors.reporter;
    renderErrors();
  }

  /* FastAPI's schema errors: {loc: ['body', 'reporter', 'phone'], type, msg, ctx}. */
  function schemaError(item) {
    var loc = (item.loc || []).slice();
    if (loc[0] === 'body' || loc[0] === 'query' || loc[0] === 'header') {
      if (loc[0] === 'header') return { field: null, message: { key: 'err.invalid' } };
      loc.shift();
    }
    var field = loc[0] === 'reporter' && loc.length > 1 ? loc[1] : loc[0];
    var ctx = item.ctx || {};
    var type = item.type || '';
    var message;
    if (type === 'missing') message = { key: 'err.required' };
    else if (type === 'string_too_short') message = { key: 'err.min_length', vars: { n: ctx.min_length } };
    else if (type === 'string_too_long') message = { key: 'err.max_length', vars: { n: ctx.max_length } };
    else if (field === 'phone') message = { key: 'err.bad_phone' };
    else if (field === 'email') message = { key: 'err.bad_email' };
    else if (type.indexOf('date') === 0) message = { key: 'err.bad_date' };
    else message = { zh: '填写的内容不符合要求：' + (item.msg || ''), en: item.msg || '' };
    return { field: FIELDS.indexOf(field) >= 0 ? field : null, message: message };
  }

  /* Our rules: {code, message, message_zh, field, errors: [{field, code, message, message_zh}]}. */
  function ruleError(item) {
    var field = FIELDS.indexOf(item.field) >= 0 ? item.field : null;
    return { field: field, message: { zh: item.message_zh, en: item.message } };
  }

  function problemsFrom422(detail) {
    var items = [];
    if (Array.isArray(detail)) {
      items = detail.map(schemaError);
    } else if (detail && typeof detail === 'object') {
      var list = Array.isArray(detail.errors) && detail.errors.length ? detail.errors : [detail];
      items = list.map(ruleError);
    }
    var errors = {};
    var general = null;
    items.forEach(function (item) {
      if (item.field && !errors[item.field]) errors[item.field] = item.message;
      else if (!item.field && !general) general = item.message;
    });
    if (!items.length) general = { key: 'err.invalid' };
    return { errors: errors, general: general };
  }

  /* ---- the report ---------------------------------------------------------------------- */

  function value(name) { return input(name).value.trim(); }

  function checkLength(errors, field, min, max, required) {
    var have = chars(value(field));
    if (!have && required) errors[field] = { key: 'err.required' };
    else if (have && have < min) errors[field] = { key: 'err.too_short', vars: { n: min, have: have } };
    else if (have > max) errors[field] = { key: 'err.too_long', vars: { n: max, have: have } };
  }

  function validate() {
    var errors = {};
    checkLength(errors, 'title', LIMITS.title[0], LIMITS.title[1], true);
    checkLength(errors, 'description', LIMITS.description[0], LIMITS.description[1], true);
    checkLength(errors, 'place', 0, LIMITS.place[1], false);
    var day = input('occurred_on');
    if (day.validity && day.validity.badInput) errors.occurred_on = { key: 'err.bad_date' };
    else if (day.value && day.value > todayISO()) errors.occurred_on = { key: 'err.future_date' };
    if (!input('anonymous').checked) {
      checkLength(errors, 'name', 0, LIMITS.name[1], false);
      var phone = value('phone');
      var email = value('email');
      if (phone && !PHONE.test(phone)) errors.phone = { key: 'err.bad_phone' };
      if (email && !EMAIL.test(email)) errors.email = { key: 'err.bad_email' };
      if (!phone && !email) errors.reporter = { key: 'err.contact_required' };
    }
    return errors;
  }

  function report() {
    var body = { channel: CHANNEL, title: value('title'), description: value('description'),
      anonymous: input('anonymous').checked };
    ['subject_unit', 'category', 'kind', 'place', 'occurred_on'].forEach(function (field) {
      if (value(field)) body[field] = value(field);
    });
    if (!body.anonymous) {
      body.reporter = {};
      ['name', 'phone', 'email'].forEach(function (field) {
        if (value(field)) body.reporter[field] = value(field);
      });
    }
    return body;
  }

  function setBusy(busy) {
    inFlight = busy;
    el.submit.disabled = busy;
    el.submit.setAttribute('aria-busy', busy ? 'true' : 'false');
    el.submit.textContent = Site.t(busy ? 'report.submitting' : 'report.submit');
    el.form.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  function submit(event) {
    event.preventDefault();
    if (inFlight) return;
    var errors = validate();
    if (Object.keys(errors).length) {
      showProblems(errors, null);
      return;
    }
    showProblems({}, null);
    setBusy(true);
    Site.requestJSON('/api/v1/clues', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey },
      body: JSON.stringify(report())
    }, 30000).then(answered, function (failure) {
      showProblems({}, { key: failure.kind === 'timeout' ? 'err.timeout' : 'err.network',
        tone: 'warning' });
    }).finally(function () { setBusy(false); });
  }

  function answered(reply) {
    var detail = reply.body && reply.body.detail;
    if (reply.status === 202 && reply.body && reply.body.receipt_code) {
      showReceipt(reply.body.receipt_code);
    } else if (reply.status === 422) {
      var found = problemsFrom422(detail);
      showProblems(found.errors, found.general);
    } else if (reply.status === 413) {
      showProblems({}, { key: 'err.too_large' });
    } else if (reply.status === 504) {
      showProblems({}, { key: 'err.timeout', tone: 'warning' });
    } else if (reply.status >= 500) {
      showProblems({}, { key: 'err.unavailable', tone: 'warning' });
    } else if (detail && detail.message_zh) {
      showProblems({}, { zh: detail.message_zh, en: detail.message });
    } else {
      showProblems({}, { key: 'err.unexpected', vars: { status: reply.status } });
    }
  }

  /* ---- the receipt --------------------------------------------------------------------- */

  function showReceipt(code) {
    el.code.textContent = code;
    /* the code never goes into a URL (server logs, browser history): the follow-up page
       takes it from this tab's sessionStorage, once */
    el.followLink.href = '/receipt';
    el.copyStatus.textContent = '';
    el.form.hidden = true;
    el.panel.hidden = false;
    el.heading.focus();
  }

  function handOverCode() {
    try { window.sessionStorage.setItem('receipt-code', el.code.textContent); } catch (e) {
      /* storage off: the reporter types the code on the follow-up page */
    }
  }

  function copyCode() {
    var code = el.code.textContent;
    var done = function () { el.copyStatus.textContent = Site.t('receipt_panel.copied'); };
    var failed = function () {
      var range = document.createRange();
      range.selectNodeContents(el.code);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      var copied = false;
      try { copied = document.execCommand('copy'); } catch (e) { copied = false; }
      el.copyStatus.textContent = Site.t(copied ? 'receipt_panel.copied'
        : 'receipt_panel.copy_failed');
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(code).then(done, failed);
    } else {
      failed();
    }
  }

  function startOver() {
    el.form.reset();
    idempotencyKey = newKey();
    showProblems({}, null);
    toggleContact();
    updateCount();
    el.code.textContent = '';
    el.panel.hidden = true;
    el.form.hidden = false;
    input('title').focus();
  }

  /* ---- small behaviours ---------------------------------------------------------------- */

  function toggleContact() {
    var named = !input('anonymous').checked;
    el.contact.hidden = !named;
    if (!named) {
      delete fieldErrors.reporter;
      ['name', 'phone', 'email'].forEach(function (f) { delete fieldErrors[f]; });
      renderErrors();
    }
  }

  function updateCount() {
    var have = chars(input('description').value.trim());
    var max = LIMITS.description[1];
    el.count.textContent = Site.t('report.count', { n: have, max: max });
    el.count.classList.toggle('over', have > max);
  }

  function relabel() {
    renderLoadState();
    renderChoices();
    renderErrors();
    updateCount();
    if (!inFlight) el.submit.textContent = Site.t('report.submit');
  }

  function init() {
    Site.start();
    el.form = document.getElementById('report-form');
    el.formAlert = document.getElementById('form-alert');
    el.submit = document.getElementById('submit');
    el.contact = document.getElementById('contact-fields');
    el.count = document.getElementById('description-count');
    el.categoryHelp = document.getElementById('category-help');
    el.loadStatus = document.getElementById('load-status');
    el.loadMessage = document.getElementById('load-message');
    el.loadRetry = document.getElementById('load-retry');
    el.panel = document.getElementById('receipt-panel');
    el.heading = document.getElementById('receipt-heading');
    el.code = document.getElementById('receipt-code');
    el.copyStatus = document.getElementById('copy-status');
    el.followLink = document.getElementById('follow-link');

    input('occurred_on').max = todayISO();
    el.form.addEventListener('submit', submit);
    el.form.addEventListener('input', function (event) { clearFieldError(event.target.name); });
    el.form.addEventListener('change', function (event) { clearFieldError(event.target.name); });
    input('anonymous').addEventListener('change', toggleContact);
    input('description').addEventListener('input', updateCount);
    input('category').addEventListener('change', showCategoryHelp);
    el.loadRetry.addEventListener('click', load);
    document.getElementById('copy-code').addEventListener('click', copyCode);
    el.followLink.addEventListener('click', handOverCode);
    document.getElementById('new-report').addEventListener('click', startOver);
    Site.onChange(relabel);

    el.form.hidden = false;
    toggleContact();
    relabel();
    load();
  }

  init();
})();
