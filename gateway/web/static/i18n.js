/* Shared by the public pages: texts in Chinese and English, the language switch, JSON calls.
   Chinese first: the pages are written in Chinese; English is applied over them on request. */
(function () {
  'use strict';

  var STRINGS = {
    zh: {
      'site.skip': '跳到主要内容',
      'site.county': '{county}',
      'site.campaign': '{campaign}',
      'site.nav': '网站导航',
      'site.nav_report': '我要举报',
      'site.nav_receipt': '进度查询',
      'site.switch_label': 'Read this page in English',
      'site.footer_host': '主办：中共{county}委办公室',
      'site.footer_privacy': '本平台依法保护举报人的合法权益，对举报人信息严格保密。',
      'site.period': '专项清理工作时间：{start} 至 {end}',
      'site.load_failed': '页面数据加载失败，请检查网络后刷新页面重试。',
      'site.retry': '重新加载',
      'site.js_error': '页面出现错误，请刷新后重试。',

      'report.doc_title': '公开举报平台 · {campaign}',
      'report.heading': '公开举报平台',
      'report.lead': '欢迎您反映党政机关、学校和县管企业及其工作人员不作为、乱作为、慢作为问题。请如实、具体地填写问题情况，我们将登记入台账并交有关单位办理。',
      'report.loading': '正在加载……',
      'report.section_problem': '问题情况',
      'report.required_note': '为必填项',
      'report.optional': '（选填）',
      'report.title': '标题',
      'report.title_hint': '一句话概括问题，2–200 字。',
      'report.description': '问题描述',
      'report.description_hint': '请写明时间、地点、涉及的单位或岗位、事情经过，5–5000 字。',
      'report.count': '已输入 {n} / {max} 字',
      'report.kind': '问题性质',
      'report.category': '问题类别',
      'report.subject_unit': '被反映单位',
      'report.subject_unit_hint': '不清楚具体单位的，可以不选，并在问题描述中说明。',
      'report.not_chosen': '— 请选择 —',
      'report.unit_unknown': '— 不清楚 / 未列出 —',
      'report.place': '发生地点',
      'report.occurred_on': '发生日期',
      'report.section_reporter': '举报人信息',
      'report.anonymous': '匿名举报',
      'report.anonymous_hint': '匿名举报不填写任何个人信息，只能凭回执码查询办理进度。取消勾选即为实名举报。',
      'report.contact_hint': '实名举报请至少留下电话或电子邮箱，以便核实情况和反馈结果。我们将依法为举报人保密。',
      'report.name': '姓名',
      'report.phone': '联系电话',
      'report.email': '电子邮箱',
      'report.submit': '提交举报',
      'report.submitting': '正在提交……',
      'report.submit_hint': '请勿重复提交；网络中断后可直接再次点击提交，不会重复登记。',
      'group.township': '乡镇',
      'group.party_department': '县委各部门',
      'group.government_department': '政府各部门',
      'group.school': '学校',
      'group.enterprise': '县管企业',
      'group.supervisor': '县直分管部门（县教育局、县监察局等）',

      'err.fix_below': '请修改以下标出的内容后再提交：',
      'err.item': '{label}：{message}',
      'err.required': '请填写此项。',
      'err.too_short': '至少需要 {n} 个字，目前 {have} 个字。',
      'err.too_long': '最多 {n} 个字，目前 {have} 个字。',
      'err.min_length': '至少需要 {n} 个字。',
      'err.max_length': '最多 {n} 个字。',
      'err.future_date': '发生日期不能晚于今天。',
      'err.bad_date': '请填写有效的日期。',
      'err.bad_phone': '电话号码格式不正确（6–20 位数字，可含 +、- 和空格）。',
      'err.bad_email': '电子邮箱格式不正确。',
      'err.contact_required': '实名举报请至少留下电话或电子邮箱。',
      'err.invalid': '填写的内容不符合要求。',
      'err.network': '网络连接中断，举报尚未确认提交。您填写的内容已保留，请检查网络后再次点击“提交举报”；同一份举报不会重复登记。',
      'err.timeout': '服务器长时间没有响应，举报尚未确认提交。您填写的内容已保留，请稍后再次点击“提交举报”；同一份举报不会重复登记。',
      'err.unavailable': '服务暂时繁忙，本次提交未被受理。您填写的内容已保留，请稍后再次点击“提交举报”；同一份举报不会重复登记。',
      'err.too_large': '提交的内容过长，请精简问题描述后重试。',
      'err.unexpected': '提交失败（错误代码 {status}），请稍后重试。',

      'receipt_panel.heading': '举报已提交',
      'receipt_panel.intro': '您的举报已受理。您的回执码是：',
      'receipt_panel.copy': '复制回执码',
      'receipt_panel.copied': '回执码已复制。',
      'receipt_panel.copy_failed': '无法自动复制，请手动选中回执码抄写或复制。',
      'receipt_panel.keep': '请妥善保存回执码。回执码是查询匿名举报办理进度的唯一凭证，遗失后无法找回，也无法补发。',
      'receipt_panel.follow': '查询办理进度',
      'receipt_panel.new': '再提交一条举报',

      'follow.doc_title': '进度查询 · {campaign}',
      'follow.heading': '举报办理进度查询',
      'follow.lead': '请输入提交举报时获得的回执码，查询办理进度。回执码不区分大小写，短横线可省略。',
      'follow.code': '回执码',
      'follow.code_hint': '例如 ABCD-EFGH-JKLM-NPQR',
      'follow.submit': '查询',
      'follow.searching': '正在查询……',
      'follow.result_heading': '查询结果',
      'follow.status': '办理状态',
      'follow.submitted_at': '提交时间',
      'follow.updated_at': '最近更新',
      'follow.code_required': '请输入回执码。',
      'follow.code_shape': '回执码应为 8–40 位字母和数字，请核对后重新输入。',
      'follow.not_found': '未找到该回执码对应的举报，请核对回执码是否输入正确。',
      'follow.network': '网络连接中断，请检查网络后重试。',
      'follow.unavailable': '服务暂时繁忙，请稍后重试。',
      'follow.unexpected': '查询失败（错误代码 {status}），请稍后重试。',
      'follow.status_received': '举报已受理，正在登记入台账。',
      'follow.status_registered': '举报已登记入台账，将交有关单位调查处理。',
      'follow.status_in_progress': '问题已交办给责任单位，正在调查处理。',
      'follow.status_closed': '问题已办结。',
      'follow.outcome': '办理结果',
      'dispute.heading': '对办理结果有异议？',
      'dispute.lead': '如果您认为问题并未整改到位，或核查结论与事实不符，可以提出异议，问题将重新启动办理。',
      'dispute.reason': '异议理由',
      'dispute.reason_hint': '请具体说明理由，可附上能证明问题仍然存在的情况，5–2000 字。',
      'dispute.submit': '提交异议',
      'dispute.sending': '正在提交……',
      'dispute.done': '您的异议已受理，问题将重新启动办理。',
      'dispute.not_found': '未找到该回执码对应的问题，无法提出异议。',
      'follow.report_link': '还没有回执码？我要举报',
      'stages.heading': '办理进程',
      'stages.none': '举报已受理，正在登记入台账，登记后将在此显示办理进程。',
      'stages.photos': '（附照片 {n} 张）',
      'stages.public_words': '办理情况：',
      'supplement.heading': '补充情况和照片',
      'supplement.lead': '问题办理期间，您可以补充新的情况或照片，将一并转交承办单位核查。照片中的位置等信息会被去除后才提供给工作人员查看。',
      'supplement.text': '补充的情况',
      'supplement.text_hint': '请具体说明新的情况，5–2000 字。',
      'supplement.photos': '照片',
      'supplement.photos_hint': '可选，最多 {n} 张，JPEG、PNG 或 WebP 格式。',
      'supplement.too_many': '最多只能上传 {n} 张照片。',
      'supplement.submit': '提交补充材料',
      'supplement.sending': '正在提交……',
      'supplement.done': '已收到您补充的材料，将转交承办单位一并核查。',
      'rate.heading': '对办理结果满意吗？',
      'rate.lead': '问题已有办理结果，请您评价。每个回执码对每次办理结果只能评价一次。',
      'rate.legend': '满意度',
      'rate.satisfied': '满意',
      'rate.basically_satisfied': '基本满意',
      'rate.not_satisfied': '不满意',
      'rate.reason': '理由',
      'rate.reason_hint': '选择“不满意”时必须填写理由，最多 2000 字。',
      'rate.choose': '请选择满意程度。',
      'rate.submit': '提交评价',
      'rate.sending': '正在提交……',
      'rate.done': '感谢您的评价，已记录。',
      'rate.given': '您的评价：{label}（{on}）'
    },
    en: {
      'site.skip': 'Skip to main content',
      'site.county': '{county}',
      'site.campaign': '{campaign}',
      'site.nav': 'Site navigation',
      'site.nav_report': 'Report a problem',
      'site.nav_receipt': 'Follow a report',
      'site.switch_label': '切换为中文',
      'site.footer_host': 'Run by the General Office of the {county} Party Committee.',
      'site.footer_privacy': 'Whistleblowers are protected by law; what you tell us about yourself is kept confidential.',
      'site.period': 'Campaign period: {start} to {end}',
      'site.load_failed': 'The page could not load its data. Check your connection and reload the page.',
      'site.retry': 'Reload',
      'site.js_error': 'Something went wrong on this page. Please reload it.',

      'report.doc_title': 'Public reporting platform · {campaign}',
      'report.heading': 'Public reporting platform',
      'report.lead': 'Report inaction, misconduct or slow action by Party and government bodies, schools, county-owned enterprises or their staff. Describe the problem truthfully and concretely; it will be registered in the ledger and passed to the unit responsible.',
      'report.loading': 'Loading…',
      'report.section_problem': 'The problem',
      'report.required_note': 'required',
      'report.optional': '(optional)',
      'report.title': 'Title',
      'report.title_hint': 'The problem in one sentence, 2–200 characters.',
      'report.description': 'Description',
      'report.description_hint': 'When and where it happened, which unit or post is involved, and what happened; 5–5000 characters.',
      'report.count': '{n} / {max} characters',
      'report.kind': 'Kind of problem',
      'report.category': 'Category',
      'report.subject_unit': 'Unit concerned',
      'report.subject_unit_hint': 'If you do not know the unit, leave this empty and say what you know in the description.',
      'report.not_chosen': '— Choose —',
      'report.unit_unknown': '— Not sure / not listed —',
      'report.place': 'Place',
      'report.occurred_on': 'Date it happened',
      'report.section_reporter': 'About you',
      'report.anonymous': 'Report anonymously',
      'report.anonymous_hint': 'An anonymous report carries no personal details; you follow it with the receipt code only. Untick to report under your name.',
      'report.contact_hint': 'Under your name, leave at least a phone number or an e-mail address so we can check facts and tell you the outcome. Your details are kept confidential.',
      'report.name': 'Name',
      'report.phone': 'Phone',
      'report.email': 'E-mail',
      'report.submit': 'Submit report',
      'report.submitting': 'Submitting…',
      'report.submit_hint': 'Submit once. After a network failure just submit again: the report will not be filed twice.',
      'group.township': 'Towns and townships',
      'group.party_department': 'County Party departments',
      'group.government_department': 'County government departments',
      'group.school': 'Schools',
      'group.enterprise': 'County-owned enterprises',
      'group.supervisor': 'Supervising bodies (county bureaus)',

      'err.fix_below': 'Please correct the marked fields and submit again:',
      'err.item': '{label}: {message}',
      'err.required': 'Please fill this in.',
      'err.too_short': 'At least {n} characters needed; now {have}.',
      'err.too_long': 'At most {n} characters; now {have}.',
      'err.min_length': 'At least {n} characters needed.',
      'err.max_length': 'At most {n} characters.',
      'err.future_date': 'The date cannot be in the future.',
      'err.bad_date': 'Enter a valid date.',
      'err.bad_phone': 'Enter a valid phone number (6–20 digits; +, - and spaces allowed).',
      'err.bad_email': 'Enter a valid e-mail address.',
      'err.contact_required': 'Under your name, leave at least a phone number or an e-mail address.',
      'err.invalid': 'This value is not accepted.',
      'err.network': 'The connection was lost before the report was confirmed. Your text is kept: check your connection and press “Submit report” again. The report will not be filed twice.',
      'err.timeout': 'The server did not answer in time; the report is not confirmed. Your text is kept: press “Submit report” again in a moment. The report will not be filed twice.',
      'err.unavailable': 'The service is busy and did not accept the report. Your text is kept: press “Submit report” again in a moment. The report will not be filed twice.',
      'err.too_large': 'The report is too long. Please shorten the description and try again.',
      'err.unexpected': 'The report could not be submitted (error {status}). Please try again later.',

      'receipt_panel.heading': 'Report submitted',
      'receipt_panel.intro': 'Your report has been received. Your receipt code is:',
      'receipt_panel.copy': 'Copy code',
      'receipt_panel.copied': 'Receipt code copied.',
      'receipt_panel.copy_failed': 'Could not copy automatically; please select the code and copy or write it down.',
      'receipt_panel.keep': 'Keep this receipt code safe. It is the only way to follow an anonymous report; it cannot be recovered or issued again.',
      'receipt_panel.follow': 'Follow this report',
      'receipt_panel.new': 'Submit another report',

      'follow.doc_title': 'Follow a report · {campaign}',
      'follow.heading': 'Follow a report',
      'follow.lead': 'Enter the receipt code you were given when you submitted your report. Letter case and dashes do not matter.',
      'follow.code': 'Receipt code',
      'follow.code_hint': 'For example ABCD-EFGH-JKLM-NPQR',
      'follow.submit': 'Look up',
      'follow.searching': 'Looking up…',
      'follow.result_heading': 'Result',
      'follow.status': 'Status',
      'follow.submitted_at': 'Submitted',
      'follow.updated_at': 'Last updated',
      'follow.code_required': 'Please enter a receipt code.',
      'follow.code_shape': 'A receipt code has 8–40 letters and digits; please check it.',
      'follow.not_found': 'No report has this receipt code. Please check that it was typed correctly.',
      'follow.network': 'The connection was lost. Check your connection and try again.',
      'follow.unavailable': 'The service is busy. Please try again in a moment.',
      'follow.unexpected': 'The lookup failed (error {status}). Please try again later.',
      'follow.status_received': 'Your report has been received and is being registered in the ledger.',
      'follow.status_registered': 'Your report is registered in the ledger and will be passed to the unit responsible.',
      'follow.status_in_progress': 'The problem has been passed to the unit responsible and is being handled.',
      'follow.status_closed': 'The handling of this problem is finished.',
      'follow.outcome': 'Outcome',
      'dispute.heading': 'Disagree with the outcome?',
      'dispute.lead': 'If you believe the problem has not really been put right, or the finding does not match the facts, you can dispute it and the case will be reopened.',
      'dispute.reason': 'Your reasons',
      'dispute.reason_hint': 'Say concretely why, including anything that shows the problem persists; 5–2000 characters.',
      'dispute.submit': 'Submit dispute',
      'dispute.sending': 'Submitting…',
      'dispute.done': 'Your dispute has been accepted; the case will be reopened.',
      'dispute.not_found': 'No case was found for this receipt code, so it cannot be disputed.',
      'follow.report_link': 'No receipt code yet? Report a problem',
      'stages.heading': 'Progress of the case',
      'stages.none': 'Your report is received and is being registered; its progress will show here.',
      'stages.photos': '(with {n} photos)',
      'stages.public_words': 'Findings: ',
      'supplement.heading': 'Add information or photos',
      'supplement.lead': 'While the case is open you can add new information or photos; they go to the unit handling it. Location data is removed from photos before staff see them.',
      'supplement.text': 'What you add',
      'supplement.text_hint': 'Describe the new information concretely; 5–2000 characters.',
      'supplement.photos': 'Photos',
      'supplement.photos_hint': 'Optional; at most {n}, JPEG, PNG or WebP.',
      'supplement.too_many': 'At most {n} photos can be added.',
      'supplement.submit': 'Send',
      'supplement.sending': 'Sending…',
      'supplement.done': 'Your information was received and goes to the unit handling the case.',
      'rate.heading': 'Are you satisfied with the outcome?',
      'rate.lead': 'The case has an outcome; please tell us what you think. Each receipt code answers once per outcome.',
      'rate.legend': 'Satisfaction',
      'rate.satisfied': 'Satisfied',
      'rate.basically_satisfied': 'Basically satisfied',
      'rate.not_satisfied': 'Not satisfied',
      'rate.reason': 'Reason',
      'rate.reason_hint': 'Required when not satisfied; at most 2000 characters.',
      'rate.choose': 'Please choose how satisfied you are.',
      'rate.submit': 'Send answer',
      'rate.sending': 'Sending…',
      'rate.done': 'Thank you; your answer is recorded.',
      'rate.given': 'Your answer: {label} ({on})'
    }
  };

  var STORAGE_KEY = 'accountability.lang';
  var listeners = [];
  var campaign = null;
  var fallbackVars = {};

  function stored() {
    try { return window.localStorage.getItem(STORAGE_KEY); } catch (e) { return null; }
  }

  function remember(lang) {
    try { window.localStorage.setItem(STORAGE_KEY, lang); } catch (e) { /* private mode */ }
  }

  /* English only when the browser clearly prefers it; Chinese when unsure. */
  function detect() {
    var saved = stored();
    if (saved === 'zh' || saved === 'en') return saved;
    var prefs = (navigator.languages && navigator.languages.length)
      ? navigator.languages : [navigator.language || ''];
    for (var i = 0; i < prefs.length; i++) {
      var tag = String(prefs[i]).toLowerCase();
      if (tag.indexOf('zh') === 0) return 'zh';
      if (tag.indexOf('en') === 0) return 'en';
    }
    return 'zh';
  }

  var lang = detect();

  function vars() {
    if (!campaign) return fallbackVars;
    var zh = lang === 'zh';
    return {
      county: zh ? campaign.county_zh : campaign.county_en,
      campaign: zh ? campaign.name_zh : campaign.name_en,
      start: formatDate(campaign.start),
      end: formatDate(campaign.end)
    };
  }

  function t(key, extra) {
    var text = STRINGS[lang][key];
    if (text === undefined) text = STRINGS.zh[key];
    if (text === undefined) return key;
    var values = Object.assign({}, vars(), extra || {});
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return values[name] === undefined || values[name] === null ? whole : String(values[name]);
    });
  }

  /* A bilingual message object {zh, en} (server errors carry both) in the current language. */
  function pickMessage(message) {
    if (!message) return '';
    return (lang === 'en' ? message.en : message.zh) || message.zh || message.en || '';
  }

  function name(item) {
    return lang === 'en' ? (item.name_en || item.name_zh) : (item.name_zh || item.name_en);
  }

  function locale() { return lang === 'en' ? 'en-GB' : 'zh-CN'; }

  function formatDate(isoDay) {
    var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDay || '');
    if (!parts) return isoDay || '';
    var day = new Date(Number(parts[1]), Number(parts[2]) - 1, Number(parts[3]));
    return new Intl.DateTimeFormat(locale(), { year: 'numeric', month: 'long', day: 'numeric' })
      .format(day);
  }

  function formatDateTime(iso) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) return iso || '';
    return new Intl.DateTimeFormat(locale(), {
      year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit'
    }).format(when);
  }

  function applyTexts(root) {
    root = root || document;
    root.querySelectorAll('[data-i18n]').forEach(function (el) {
      el.textContent = t(el.getAttribute('data-i18n'));
    });
    root.querySelectorAll('[data-i18n-attr]').forEach(function (el) {
      el.getAttribute('data-i18n-attr').split(';').forEach(function (pair) {
        var bits = pair.split(':');
        if (bits.length === 2) el.setAttribute(bits[0].trim(), t(bits[1].trim()));
      });
    });
  }

  function applyAll() {
    document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
    var titleKey = document.querySelector('title').getAttribute('data-i18n');
    if (titleKey) document.title = t(titleKey);
    applyTexts(document);
    var button = document.getElementById('lang-switch');
    if (button) {
      button.textContent = lang === 'en' ? '中文' : 'English';
      button.setAttribute('lang', lang === 'en' ? 'zh-CN' : 'en');
      button.setAttribute('aria-label', t('site.switch_label'));
    }
    var period = document.getElementById('campaign-period');
    if (period && campaign) {
      period.textContent = t('site.period');
      period.hidden = false;
    }
    listeners.forEach(function (fn) { fn(lang); });
  }

  function setLang(next) {
    lang = next === 'en' ? 'en' : 'zh';
    remember(lang);
    applyAll();
  }

  function setCampaign(info) {
    campaign = info || null;
    applyAll();
  }

  function onChange(fn) { listeners.push(fn); }

  /* Empty a node (Element.replaceChildren is missing from older browsers still in use). */
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  /* fetch with a time limit; resolves {status, body} (body null when not JSON), rejects
     with err.kind = 'network' | 'timeout'. */
  function requestJSON(url, options, timeoutMs) {
    options = Object.assign({ credentials: 'same-origin' }, options || {});
    options.headers = Object.assign({ Accept: 'application/json' }, options.headers || {});
    var controller = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = null;
    if (controller) {
      options.signal = controller.signal;
      timer = setTimeout(function () { controller.abort(); }, timeoutMs || 30000);
    }
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        return { status: response.status, body: body, headers: response.headers };
      });
    }, function (error) {
      var failure = new Error('request failed');
      failure.kind = error && error.name === 'AbortError' ? 'timeout' : 'network';
      throw failure;
    }).finally(function () { if (timer) clearTimeout(timer); });
  }

  function loadCampaign() {
    return requestJSON('/api/v1/campaign', { method: 'GET' }, 20000).then(function (reply) {
      if (reply.status !== 200 || !reply.body) {
        var failure = new Error('campaign ' + reply.status);
        failure.kind = 'http';
        throw failure;
      }
      setCampaign(reply.body.campaign);
      return reply.body;
    });
  }

  function captureFallbacks() {
    var county = document.querySelector('[data-campaign="county"]');
    var title = document.querySelector('[data-campaign="name"]');
    fallbackVars = {
      county: county ? county.textContent.trim() : '',
      campaign: title ? title.textContent.trim() : ''
    };
  }

  function start() {
    captureFallbacks();
    var button = document.getElementById('lang-switch');
    if (button) {
      button.addEventListener('click', function () { setLang(lang === 'en' ? 'zh' : 'en'); });
    }
    applyAll();
  }

  window.addEventListener('error', function () {
    var box = document.getElementById('page-error');
    if (box) { box.textContent = t('site.js_error'); box.hidden = false; }
  });

  window.Site = {
    t: t, name: name, pickMessage: pickMessage, lang: function () { return lang; },
    setLang: setLang, onChange: onChange, formatDate: formatDate,
    formatDateTime: formatDateTime, requestJSON: requestJSON, loadCampaign: loadCampaign,
    start: start, clear: clear
  };
})();
