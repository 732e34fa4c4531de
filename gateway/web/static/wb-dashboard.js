/* The dashboard: a click on a chart's row opens the ledger list filtered by it (the row's
   data-href). Only an enhancement: every row's link is also in the table below the chart,
   which is what the keyboard and screen readers use (the chart is one image to them). */
(function () {
  'use strict';
  document.addEventListener('click', function (event) {
    var target = event.target;
    if (!target || !target.closest) {
      return;
    }
    var row = target.closest('svg.chart [data-href]');
    if (!row) {
      return;
    }
    var href = row.getAttribute('data-href');
    if (href && href.indexOf('/workbench/') === 0) {
      window.location.assign(href);
    }
  });
}());
