/* Runs in <head>, before the page paints: applies the remembered large-type setting (大字), so the page
 * never flashes small text first. The header toggle (common.js) changes and saves it. */
(function () {
  'use strict';
  try {
    if (window.localStorage.getItem('policyqa.large_type') === '1') {
      document.documentElement.classList.add('large-type');
    }
  } catch (err) {
    /* storage blocked: default size */
  }
})();
