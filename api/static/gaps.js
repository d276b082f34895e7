/* The staff gap list (GET /api/v1/admin/gaps, behind the admin key): what residents ask that the policies
 * do not answer, grouped by similar wording, most frequent first, with counts per week; CSV export.
 * The key is kept for this tab only (sessionStorage) and sent as a Bearer header, never in the address. */
(function () {
  'use strict';

  const P = window.PolicyQA;
  const el = P.el;
  const append = P.append;
  const clear = P.clear;

  const KEY_STORAGE = 'policyqa.admin_key';
  const STATUS_NAMES = { not_found: '未找到', partial: '未写明', down: '没帮助' };
  const REASON_NAMES = { not_answered: '没回答我的问题', wrong_clause: '条款不对', other: '其他' };
  const METHOD_NAMES = { vector: '语义向量', bigram: '字词相似度' };

  const form = document.getElementById('gaps-form');
  const keyInput = document.getElementById('admin-key');
  const weeksSelect = document.getElementById('weeks');
  const loadButton = document.getElementById('load-gaps');
  const exportButton = document.getElementById('export-csv');
  const errorLine = document.getElementById('gaps-error');
  const status = document.getElementById('gaps-status');
  const slot = document.getElementById('gaps-table-slot');

  function storedKey() {
    try {
      return window.sessionStorage.getItem(KEY_STORAGE) || '';
    } catch (err) {
      return '';
    }
  }

  function storeKey(key) {
    try {
      if (key) window.sessionStorage.setItem(KEY_STORAGE, key);
      else window.sessionStorage.removeItem(KEY_STORAGE);
    } catch (err) {
      /* not kept: asked again after a reload */
    }
  }

  function headers() {
    return { Authorization: 'Bearer ' + keyInput.value.trim() };
  }

  function showError(text) {
    errorLine.textContent = text;
    errorLine.hidden = !text;
    keyInput.setAttribute('aria-invalid', text ? 'true' : 'false');
  }

  /** "1月13日" from an ISO date. */
  function shortDate(iso) {
    const parts = String(iso || '').split('-');
    return parts.length === 3 ? parseInt(parts[1], 10) + '月' + parseInt(parts[2], 10) + '日' : iso;
  }

  function weekBars(group, weeks) {
    const counts = weeks.map(function (week) { return group.weeks[week] || 0; });
    const most = Math.max.apply(null, counts.concat([1]));
    const bars = el('span', { className: 'weeks', 'aria-hidden': 'true' });
    counts.forEach(function (count, i) {
      const bar = el('span', { className: count ? '' : 'is-zero', title: shortDate(weeks[i]) + '起一周：' + count + ' 次' });
      bar.style.height = Math.max(2, Math.round((count / most) * 30)) + 'px';
      bars.appendChild(bar);
    });
    const words = weeks.map(function (week, i) { return shortDate(week) + '起 ' + counts[i] + ' 次'; }).join('，');
    return [bars, el('span', { className: 'visually-hidden', text: '每周：' + words })];
  }

  function whyBadges(group) {
    const badges = el('div', { className: 'gap-why' });
    Object.keys(STATUS_NAMES).forEach(function (key) {
      const count = group.statuses[key];
      if (count) append(badges, el('span', { className: 'badge' + (key === 'down' ? ' badge-warn' : ''),
        text: STATUS_NAMES[key] + ' ' + count }));
    });
    Object.keys(group.reasons || {}).forEach(function (key) {
      append(badges, el('span', { className: 'badge', text: (REASON_NAMES[key] || key) + ' ' + group.reasons[key] }));
    });
    return badges;
  }

  function render(data) {
    clear(slot);
    if (!data.enabled) {
      status.textContent = '服务器未开启查询日志（POLICYQA_QUERY_LOG），没有可统计的提问。';
      exportButton.disabled = true;
      return;
    }
    const groups = Array.isArray(data.groups) ? data.groups : [];
    const weeks = Array.isArray(data.weeks) ? data.weeks : [];
    status.textContent = groups.length
      ? '自' + shortDate(weeks[0]) + '起共 ' + data.total + ' 次未答提问，合并为 ' + groups.length + ' 组（按' +
        (METHOD_NAMES[data.method] || data.method) + '合并）。'
      : '自' + shortDate(weeks[0]) + '起没有未答的提问。';
    exportButton.disabled = false;
    if (!groups.length) return;
    const table = el('table', { className: 'gap-table' }, [
      el('caption', { text: '每周柱高为该组当周的提问次数，最右为本周。' }),
      el('thead', null, el('tr', null, ['问题（及其他问法）', '次数', '原因', '每周', '最近'].map(function (name) {
        return el('th', { scope: 'col', text: name });
      }))),
    ]);
    const body = el('tbody');
    groups.forEach(function (group) {
      const others = (group.wordings || []).slice(1);
      append(body, el('tr', null, [
        el('th', { scope: 'row' }, [
          el('span', { className: 'gap-question', text: group.question }),
          others.length ? el('ul', { className: 'gap-wordings' }, others.map(function (wording) {
            return el('li', { text: wording.question + '（' + wording.count + '）' });
          })) : null,
        ]),
        el('td', { className: 'num', text: String(group.count) }),
        el('td', null, whyBadges(group)),
        el('td', null, weekBars(group, weeks)),
        el('td', { className: 'when', text: String(group.last_ts || '').slice(0, 10) }),
      ]));
    });
    table.appendChild(body);
    slot.appendChild(table);
  }

  async function load() {
    const key = keyInput.value.trim();
    if (!key) {
      showError('请输入管理密钥。');
      keyInput.focus();
      return;
    }
    showError('');
    loadButton.disabled = true;
    status.textContent = '正在载入…';
    try {
      const data = await P.api('/api/v1/admin/gaps?weeks=' + encodeURIComponent(weeksSelect.value), undefined,
        headers());
      storeKey(key);
      render(data);
    } catch (err) {
      clear(slot);
      status.textContent = '';
      exportButton.disabled = true;
      if (err.status === 401) storeKey('');
      showError(err instanceof P.ApiError ? err.message : '载入失败，请稍后再试。');
    } finally {
      loadButton.disabled = false;
    }
  }

  async function exportCsv() {
    exportButton.disabled = true;
    try {
      const response = await fetch('/api/v1/admin/gaps.csv?weeks=' + encodeURIComponent(weeksSelect.value), {
        headers: headers(), credentials: 'same-origin',
      });
      if (!response.ok) throw new P.ApiError(P.errorMessage(response.status, null, null), response.status);
      const blob = await response.blob();
      const link = el('a', { href: URL.createObjectURL(blob), download: 'policyqa-gaps.csv', hidden: true });
      document.body.appendChild(link);
      link.click();
      setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
      P.announce('CSV 已导出');
    } catch (err) {
      showError(err instanceof P.ApiError ? err.message : '导出失败，请稍后再试。');
    } finally {
      exportButton.disabled = false;
    }
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    load();
  });
  weeksSelect.addEventListener('change', function () { if (keyInput.value.trim()) load(); });
  exportButton.addEventListener('click', exportCsv);

  keyInput.value = storedKey();
  if (keyInput.value) load();
})();
