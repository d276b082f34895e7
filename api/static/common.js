/* PolicyQA shared page code: API calls with Chinese error messages, safe DOM building, highlights,
 * citations, copy buttons and the original-text (原文) view. Plain ES2017, no modules, no build step,
 * so it runs in WeChat's in-app browser. Everything that comes from questions or documents is put in
 * the page with textContent / text nodes, never innerHTML. */
(function () {
  'use strict';

  const MAX_QUESTION_CHARS = 500;
  const REQUEST_TIMEOUT_MS = 20000;
  const COPY_FEEDBACK_MS = 2000;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  /* ---------- DOM helpers ---------- */

  /** Build an element. `props`: className, text, hidden, type, onClick and any attribute (set verbatim).
   *  `children`: nodes or strings (strings become text nodes). */
  function el(tag, props, children) {
    const node = document.createElement(tag);
    const options = props || {};
    Object.keys(options).forEach(function (key) {
      const value = options[key];
      if (value === null || value === undefined || value === false) return;
      if (key === 'className') node.className = value;
      else if (key === 'text') node.textContent = String(value);
      else if (key === 'hidden') node.hidden = true;
      else if (key === 'onClick') node.addEventListener('click', value);
      else node.setAttribute(key, value === true ? '' : String(value));
    });
    append(node, children);
    return node;
  }

  function append(parent, children) {
    if (children === null || children === undefined) return parent;
    const list = Array.isArray(children) ? children : [children];
    list.forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return parent;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  /** A small stroke icon from a list of SVG path strings (our own constants, never data). */
  function icon(paths) {
    const svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', '18');
    svg.setAttribute('height', '18');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('class', 'icon');
    paths.forEach(function (d) {
      const path = document.createElementNS(SVG_NS, 'path');
      path.setAttribute('d', d);
      svg.appendChild(path);
    });
    return svg;
  }

  const ICONS = {
    copy: ['M9 9h10v12H9z', 'M5 15H4V3h11v1'],
    doc: ['M6 2h9l5 5v15H6z', 'M14 2v6h6', 'M9 13h8', 'M9 17h8'],
    back: ['M15 5l-7 7 7 7'],
    check: ['M5 12l5 5 9-10'],
  };

  /* ---------- API ---------- */

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.name = 'ApiError';
      this.status = status;
    }
  }

  const HAS_CJK = /[\u3400-\u9fff]/;

  /** The Chinese message shown for a failed request. */
  function errorMessage(status, detail, retryAfter) {
    if (status === 429) {
      const seconds = parseInt(retryAfter, 10);
      return '提问太频繁了，请' + (seconds > 0 ? ' ' + seconds + ' 秒后' : '稍后') + '再试。';
    }
    if (status >= 400 && status < 500 && typeof detail === 'string' && HAS_CJK.test(detail)) {
      return detail;
    }
    if (status === 404) return '没有找到相应的内容。';
    if (status === 413) return '内容太长了，请删减后再试。';
    if (status === 400 || status === 415 || status === 422) return '输入内容格式不正确，请修改后再试。';
    if (status >= 400 && status < 500) return '请求未被受理，请修改后再试。';
    if (status === 503) return '服务正在维护或更新，请稍后再试。';
    return '服务暂时不可用，请稍后再试。';
  }

  /** Call the JSON API (POST when `body` is given); resolves to the parsed body, rejects with an ApiError
   *  whose message is Chinese. */
  async function api(path, body, extraHeaders) {
    const init = {
      method: body === undefined ? 'GET' : 'POST',
      headers: Object.assign({ Accept: 'application/json' }, extraHeaders || {}),
      credentials: 'same-origin',
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const controller = typeof AbortController === 'function' ? new AbortController() : null;
    if (controller) init.signal = controller.signal;
    const timer = controller ? setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      if (err && err.name === 'AbortError') throw new ApiError('请求超时，请稍后重试。', 0);
      throw new ApiError('网络连接失败，请检查网络后重试。', 0);
    } finally {
      if (timer) clearTimeout(timer);
    }
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      const detail = data && typeof data === 'object' ? data.detail : null;
      throw new ApiError(errorMessage(response.status, detail, response.headers.get('Retry-After')),
        response.status);
    }
    if (data === null) throw new ApiError('服务器返回的内容无法识别，请稍后再试。', response.status);
    return data;
  }

  /** Client-side check of a question or query; returns a Chinese message, or '' when it is fine. */
  function validateQuestion(text) {
    if (!text || !text.trim()) return '请输入要查询的问题。';
    if (text.length > MAX_QUESTION_CHARS) {
      return '问题太长了（' + text.length + ' 字），请控制在 ' + MAX_QUESTION_CHARS + ' 字以内。';
    }
    return '';
  }

  /* ---------- clause rendering ---------- */

  /** Ranges [start, end) of `highlights` inside `text`, sorted and merged. */
  function highlightRanges(text, highlights) {
    const ranges = [];
    (highlights || []).forEach(function (sentence) {
      const needle = typeof sentence === 'string' ? sentence.trim() : '';
      if (!needle) return;
      let from = 0;
      for (;;) {
        const at = text.indexOf(needle, from);
        if (at < 0) break;
        ranges.push([at, at + needle.length]);
        from = at + needle.length;
      }
    });
    ranges.sort(function (a, b) { return a[0] - b[0]; });
    const merged = [];
    ranges.forEach(function (range) {
      const last = merged[merged.length - 1];
      if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
      else merged.push([range[0], range[1]]);
    });
    return merged;
  }

  /** The clause text verbatim as text nodes, with the highlight sentences wrapped in <mark>. */
  function highlightedText(text, highlights) {
    const fragment = document.createDocumentFragment();
    const source = String(text || '');
    let cursor = 0;
    highlightRanges(source, highlights).forEach(function (range) {
      if (range[0] > cursor) fragment.appendChild(document.createTextNode(source.slice(cursor, range[0])));
      fragment.appendChild(el('mark', { text: source.slice(range[0], range[1]) }));
      cursor = range[1];
    });
    if (cursor < source.length) fragment.appendChild(document.createTextNode(source.slice(cursor)));
    return fragment;
  }

  /** What the document numbers a clause ("（二）第4项", "专栏一第34行"): the API's `label`; for an older
   *  server without it, the number as printed (never "第N条", which reads as an article of the document). */
  function clauseLabel(clause) {
    if (clause && typeof clause === 'object') {
      if (clause.label) return String(clause.label);
      return clauseLabel(clause.number);
    }
    if (!clause) return '';
    return String(clause).trim().replace(/[.．、]$/, '').replace(/\(/g, '（').replace(/\)/g, '）');
  }

  function sectionPath(clause) {
    return (clause.path || []).join(' › ');
  }

  /** Provenance: 《document》 on one line; 发文字号 · section path · clause number on the next. */
  function provenance(hit) {
    const doc = hit.doc || {};
    const details = [];
    if (doc.doc_number) details.push(doc.doc_number);
    const path = sectionPath(hit);
    if (path) details.push(path);
    const label = clauseLabel(hit);
    const detailLine = el('p', { className: 'provenance-detail', text: details.join(' · ') });
    if (label) append(detailLine, [details.length ? ' · ' : '', el('strong', { text: label })]);
    return el('div', { className: 'provenance' }, [
      el('p', { className: 'provenance-doc', text: doc.title || hit.doc_id }),
      detailLine,
    ]);
  }

  // Structured cells worth showing, with their Chinese labels; other keys are internal bookkeeping.
  const FIELD_LABELS = {
    category: '类别', indicator: '指标', unit: '单位', attribute: '指标属性', name: '项目名称',
    box_title: '所属专栏', responsible_unit: '责任单位', lead_unit: '牵头单位', participating_units: '参与单位',
  };
  // Table rows and 专栏 projects carry their structure in `fields`; ordinary clauses say it in the text.
  const KINDS_WITH_FIELDS = ['indicator', 'project'];

  function fieldLabel(key) {
    if (FIELD_LABELS[key]) return FIELD_LABELS[key];
    const target = /^target_(\d{4})$/.exec(key);
    return target ? target[1] + '年目标' : '';
  }

  /** Labelled cells of a table row or 专栏 project that its text and section path do not already say,
   *  as a definition list (null when there are none, and for ordinary clauses). */
  function fieldList(clause) {
    if (KINDS_WITH_FIELDS.indexOf(clause.kind) < 0) return null;
    const fields = clause.fields || {};
    const said = String(clause.text || '') + '\n' + (clause.path || []).join('\n');
    const list = el('dl', { className: 'fields' });
    Object.keys(fields).forEach(function (key) {
      const label = fieldLabel(key);
      const value = typeof fields[key] === 'string' ? fields[key].trim() : '';
      if (label && value && said.indexOf(value) < 0) {
        append(list, [el('dt', { text: label }), el('dd', { text: value })]);
      }
    });
    return list.firstChild ? list : null;
  }

  /** Badges for the document: region, type, and a warning when it is no longer in force. */
  function docBadges(doc) {
    const badges = el('div', { className: 'badges' });
    if (doc.region) append(badges, el('span', { className: 'badge badge-region', text: doc.region }));
    if (doc.type) append(badges, el('span', { className: 'badge', text: doc.type }));
    if (doc.status && doc.status !== '有效') {
      append(badges, el('span', { className: 'badge badge-warn', text: '已' + doc.status }));
    }
    return badges;
  }

  /* ---------- copying ---------- */

  function legacyCopy(text) {
    const buffer = el('textarea', { className: 'copy-buffer', readonly: true, 'aria-hidden': 'true' });
    buffer.value = text;
    document.body.appendChild(buffer);
    buffer.select();
    buffer.setSelectionRange(0, text.length);
    let copied = false;
    try {
      copied = document.execCommand('copy');
    } catch (err) {
      copied = false;
    }
    document.body.removeChild(buffer);
    return copied;
  }

  /** Copy text to the clipboard; resolves true on success. */
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (err) {
        /* fall through: some in-app browsers refuse the async clipboard */
      }
    }
    return legacyCopy(text);
  }

  /** A button that copies `getText()` and says so (visibly and to screen readers). */
  function copyButton(label, getText, extraClass) {
    const text = el('span', { text: label });
    const button = el('button', { type: 'button', className: 'btn btn-copy' + (extraClass ? ' ' + extraClass : '') },
      [icon(ICONS.copy), text]);
    let timer = null;
    button.addEventListener('click', async function () {
      const ok = await copyText(getText());
      text.textContent = ok ? '已复制' : '复制失败，请长按文字复制';
      button.classList.toggle('is-done', ok);
      announce(ok ? '引用已复制到剪贴板' : '复制失败，请长按文字手动复制');
      clearTimeout(timer);
      timer = setTimeout(function () {
        text.textContent = label;
        button.classList.remove('is-done');
      }, COPY_FEEDBACK_MS);
    });
    return button;
  }

  let announcer = null;
  /** Say something to screen readers without moving focus. */
  function announce(message) {
    if (!announcer) {
      announcer = el('div', { className: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
      document.body.appendChild(announcer);
    }
    announcer.textContent = '';
    setTimeout(function () { announcer.textContent = message; }, 50);
  }

  /* ---------- the original-text view ---------- */

  const documentCache = {};
  let viewer = null;

  function loadDocument(docId) {
    if (!documentCache[docId]) {
      documentCache[docId] = api('/api/v1/documents/' + encodeURIComponent(docId)).catch(function (err) {
        delete documentCache[docId];
        throw err;
      });
    }
    return documentCache[docId];
  }

  function buildViewer() {
    const title = el('h2', { className: 'viewer-title', id: 'viewer-title', text: '原文' });
    const closeButton = el('button', { type: 'button', className: 'btn btn-back', 'aria-label': '返回' },
      [icon(ICONS.back), el('span', { text: '返回' })]);
    // Focusable (tabindex 0) so that keyboard users can scroll the text: it may hold no other control.
    const body = el('div', { className: 'viewer-body', tabindex: '0', role: 'region', 'aria-label': '原文内容' });
    const root = el('div', {
      className: 'viewer', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'viewer-title', hidden: true,
    }, [el('div', { className: 'viewer-bar' }, [closeButton, title]), body]);
    document.body.appendChild(root);
    closeButton.addEventListener('click', function () { closeDocument(); });
    root.addEventListener('keydown', function (event) {
      if (event.key === 'Escape') closeDocument();
      if (event.key === 'Tab') trapFocus(event, root);
    });
    return { root: root, title: title, body: body, closeButton: closeButton, opener: null, pushed: false };
  }

  function trapFocus(event, root) {
    const focusable = root.querySelectorAll('button, [href], [tabindex="0"]');
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  /** The document's metadata (issuer, 发文字号, dates, region, type, status) as a definition list. */
  function docMetaBlock(doc) {
    const rows = [
      ['发文机关', doc.issuer], ['发文字号', doc.doc_number], ['成文日期', doc.date_written],
      ['发布日期', doc.date_published], ['地区', doc.region], ['类型', doc.type],
      ['状态', doc.status === '有效' || !doc.status ? '有效' : doc.status +
        (doc.superseded_by ? '（已被 ' + doc.superseded_by + ' 替代）' : '')],
    ];
    const list = el('dl', { className: 'doc-meta' });
    rows.forEach(function (row) {
      if (row[1]) append(list, [el('dt', { text: row[0] }), el('dd', { text: row[1] })]);
    });
    return list;
  }

  /** The first line of a clause, without its indentation. */
  function firstLine(text) {
    return String(text || '').trim().split('\n')[0].trim();
  }

  /** Render the whole document: section headings as the path changes, every clause verbatim. */
  function renderDocument(data, targetId, highlights) {
    const doc = data.doc || {};
    const clauses = data.clauses || [];
    const fragment = document.createDocumentFragment();
    append(fragment, [
      el('h3', { className: 'doc-title', text: doc.title || doc.id || '' }),
      docMetaBlock(doc),
    ]);
    // Headings come from the section paths; a heading-only clause repeating one of them is not shown twice.
    const pathTitles = Object.create(null);
    clauses.forEach(function (clause) {
      (clause.path || []).forEach(function (title) { pathTitles[title] = true; });
    });
    let openPath = [];
    // Heading element level of each open path depth (null: not shown, its text is the clause below), so
    // levels never jump (h4 -> h6) when a section's title is printed by its own opening clause.
    let levels = [];
    let previousFirstLine = '';
    let target = null;
    clauses.forEach(function (clause, index) {
      const path = clause.path || [];
      let depth = 0;
      while (depth < path.length && depth < openPath.length && path[depth] === openPath[depth]) depth += 1;
      levels = levels.slice(0, depth);
      for (let level = depth; level < path.length; level += 1) {
        // A section's opening clause often starts with the section title itself: do not print it twice.
        if (path[level] === previousFirstLine) {
          levels.push(null);
          continue;
        }
        const above = levels.filter(function (value) { return value !== null; });
        const headingLevel = Math.min((above.length ? above[above.length - 1] : 3) + 1, 6);
        levels.push(headingLevel);
        // Real heading elements (h4-h6 under the h3 title) so screen readers can jump between sections.
        append(fragment, el('h' + headingLevel, {
          className: 'doc-heading doc-heading-' + Math.min(level + 1, 4), text: path[level],
        }));
      }
      openPath = path;
      const text = String(clause.text || '');
      const isTarget = clause.id === targetId;
      if (clause.kind === 'heading' && pathTitles[text.trim()] && !isTarget) {
        previousFirstLine = '';
        return;
      }
      previousFirstLine = firstLine(text);
      const node = el('div', {
        className: 'doc-clause' + (clause.kind === 'heading' ? ' doc-clause-heading' : '') + (isTarget ? ' is-target' : ''),
        'data-clause-id': clause.id,
        'data-index': String(index),
        tabindex: isTarget ? '-1' : null,
        'aria-current': isTarget ? 'true' : null,
      });
      if (isTarget) append(node, el('span', { className: 'target-label', text: '你查看的条款' }));
      append(node, el('p', { className: 'clause-text' }, highlightedText(text, isTarget ? highlights : [])));
      append(node, fieldList(clause));
      if (isTarget && clause.citation) {
        append(node, el('div', { className: 'card-actions' }, copyButton('复制引用', function () { return clause.citation; })));
      }
      fragment.appendChild(node);
      if (isTarget) target = node;
    });
    return { fragment: fragment, target: target };
  }

  /** Open the original-text view of a document, scrolled to `clauseId` (which is emphasised). */
  async function openDocument(docId, clauseId, options) {
    const opts = options || {};
    if (!viewer) viewer = buildViewer();
    viewer.opener = opts.opener || document.activeElement;
    viewer.title.textContent = opts.title || '原文';
    clear(viewer.body);
    append(viewer.body, el('p', { className: 'status-line', role: 'status', text: '正在载入原文…' }));
    viewer.root.hidden = false;
    document.documentElement.classList.add('viewer-open');
    if (!opts.fromHistory) {
      const hash = '#doc=' + encodeURIComponent(docId) + (clauseId ? '&clause=' + encodeURIComponent(clauseId) : '');
      try {
        history.pushState({ viewer: true }, '', hash);
        viewer.pushed = true;
      } catch (err) {
        viewer.pushed = false;
      }
    }
    viewer.closeButton.focus();
    let data;
    try {
      data = await loadDocument(docId);
    } catch (err) {
      clear(viewer.body);
      append(viewer.body, el('p', { className: 'error-line', role: 'alert', text: err.message }));
      return;
    }
    if (viewer.root.hidden) return;
    viewer.title.textContent = (data.doc && data.doc.title) || '原文';
    const rendered = renderDocument(data, clauseId, opts.highlights);
    clear(viewer.body);
    viewer.body.appendChild(rendered.fragment);
    if (rendered.target) {
      rendered.target.scrollIntoView({ block: 'center' });
      rendered.target.focus({ preventScroll: true });
    } else {
      viewer.body.scrollTop = 0;
      if (clauseId) announce('没有在原文中找到该条款，已显示整篇文件。');
    }
  }

  /** Close the original-text view and give focus back to what opened it. */
  function closeDocument(fromHistory) {
    if (!viewer || viewer.root.hidden) return;
    viewer.root.hidden = true;
    document.documentElement.classList.remove('viewer-open');
    if (viewer.pushed && !fromHistory) {
      history.back();
    } else if (!fromHistory && DOC_PATH.test(location.pathname)) {
      // Opened as /doc/{id}: closing it leaves the chat page underneath.
      history.replaceState(null, '', '/');
    } else if (!fromHistory && /(^#|&)doc=/.test(location.hash)) {
      // Opened straight from a shared link: there is no entry to go back to, so just drop the hash.
      history.replaceState(null, '', location.pathname + location.search);
    }
    viewer.pushed = false;
    const opener = viewer.opener;
    viewer.opener = null;
    if (opener && typeof opener.focus === 'function' && document.body.contains(opener)) opener.focus();
  }

  /** `#doc=ID&clause=CID` in the address: open (or, when absent, close) the original-text view. */
  function syncViewerWithHash() {
    const hash = location.hash.replace(/^#/, '');
    const params = new URLSearchParams(hash);
    const docId = params.get('doc');
    if (docId) openDocument(docId, params.get('clause'), { fromHistory: true });
    else closeDocument(true);
  }

  window.addEventListener('popstate', syncViewerWithHash);

  /** Button "查看原文" for a hit. */
  function originalButton(hit) {
    const button = el('button', { type: 'button', className: 'btn btn-original' },
      [icon(ICONS.doc), el('span', { text: '查看原文' })]);
    button.addEventListener('click', function () {
      openDocument(hit.doc_id, hit.id, {
        opener: button, highlights: hit.highlights, title: hit.doc && hit.doc.title,
      });
    });
    return button;
  }

  /* ---------- large type (大字) ---------- */

  const LARGE_TYPE_KEY = 'policyqa.large_type';

  /** Make `button` the large-type toggle: aria-pressed shows the state, the choice is remembered. */
  function largeTypeToggle(button) {
    if (!button) return;
    const root = document.documentElement;
    const sync = function () {
      button.setAttribute('aria-pressed', root.classList.contains('large-type') ? 'true' : 'false');
    };
    button.addEventListener('click', function () {
      const on = !root.classList.contains('large-type');
      root.classList.toggle('large-type', on);
      try {
        window.localStorage.setItem(LARGE_TYPE_KEY, on ? '1' : '0');
      } catch (err) {
        /* not remembered, still applied */
      }
      sync();
      document.dispatchEvent(new Event('policyqa:textsize'));
      announce(on ? '已切换为大字' : '已切换为标准字号');
    });
    sync();
  }

  function whenReady(callback) {
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', callback);
    else callback();
  }

  // Addresses that open the original-text view: /doc/{id}?clause={cid} (or #clause=) and #doc={id}&clause={cid}.
  const DOC_PATH = /^\/doc\/([^/]+)\/?$/;

  whenReady(function () {
    largeTypeToggle(document.getElementById('large-type'));
    const docPath = location.pathname.match(DOC_PATH);
    if (docPath) {
      const clauseId = new URLSearchParams(location.search).get('clause') ||
        new URLSearchParams(location.hash.replace(/^#/, '')).get('clause');
      openDocument(decodeURIComponent(docPath[1]), clauseId, { fromHistory: true });
    } else if (/(^#|&)doc=/.test(location.hash)) {
      syncViewerWithHash();
    }
  });

  window.PolicyQA = {
    MAX_QUESTION_CHARS: MAX_QUESTION_CHARS,
    ApiError: ApiError,
    api: api,
    errorMessage: errorMessage,
    validateQuestion: validateQuestion,
    el: el,
    append: append,
    clear: clear,
    icon: icon,
    ICONS: ICONS,
    highlightRanges: highlightRanges,
    highlightedText: highlightedText,
    clauseLabel: clauseLabel,
    sectionPath: sectionPath,
    provenance: provenance,
    fieldList: fieldList,
    docBadges: docBadges,
    docMetaBlock: docMetaBlock,
    copyText: copyText,
    copyButton: copyButton,
    announce: announce,
    loadDocument: loadDocument,
    openDocument: openDocument,
    closeDocument: closeDocument,
    originalButton: originalButton,
    whenReady: whenReady,
    firstLine: firstLine,
    largeTypeToggle: largeTypeToggle,
  };
})();
