/* The staff workbench: small enhancements over pages that work without script.
   - the error summary takes focus when a form comes back with mistakes (GOV.UK pattern);
   - a link in the summary moves focus to its field and brings its label into view;
   - a form is sent once: a second press while the first is on its way does nothing;
   - a chooser of several files lists the chosen files' names and sizes. */
(function () {
  'use strict';

  function focusSummary() {
    var summary = document.querySelector('[data-autofocus]');
    if (summary) {
      summary.focus();
    }
  }

  function followSummaryLinks() {
    var summary = document.getElementById('error-summary');
    if (!summary) {
      return;
    }
    summary.addEventListener('click', function (event) {
      var link = event.target.closest('a[href^="#"]');
      if (!link) {
        return;
      }
      var target = document.getElementById(link.getAttribute('href').slice(1));
      if (!target) {
        return;
      }
      event.preventDefault();
      var label = document.querySelector('label[for="' + target.id + '"]') ||
        target.closest('fieldset');
      (label || target).scrollIntoView();
      target.focus({preventScroll: true});
    });
  }

  function sendOnce() {
    Array.prototype.forEach.call(document.querySelectorAll('form[method="post"]'), function (form) {
      form.addEventListener('submit', function (event) {
        if (form.dataset.sent === '1') {
          event.preventDefault();
          return;
        }
        var by = event.submitter;
        if (by && by.name) {
          return; /* "add another" / "remove" come straight back with the form */
        }
        form.dataset.sent = '1';
        form.setAttribute('aria-busy', 'true');
      });
    });
  }

  function size(bytes) {
    var units = [['GB', 1073741824], ['MB', 1048576], ['KB', 1024]];
    for (var i = 0; i < units.length; i += 1) {
      if (bytes >= units[i][1]) {
        return (bytes / units[i][1]).toFixed(1) + ' ' + units[i][0];
      }
    }
    return bytes + ' B';
  }

  function listChosenFiles() {
    Array.prototype.forEach.call(document.querySelectorAll('input[type="file"][multiple]'), function (input) {
      var list = document.getElementById(input.id + '-list');
      if (!list) {
        return;
      }
      input.addEventListener('change', function () {
        list.textContent = '';
        Array.prototype.forEach.call(input.files, function (file) {
          var item = document.createElement('li');
          item.textContent = file.name + ' · ' + size(file.size);
          list.appendChild(item);
        });
        list.hidden = input.files.length === 0;
      });
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    focusSummary();
    followSummaryLinks();
    sendOnce();
    listChosenFiles();
  });
}());
