/* The staff page: search with document/region/mode filters (clause references such as
 * "长宁区行动计划第(20)条" go through the same box), citations with copy buttons, and each document's
 * outline. Only the retrieval modes that are live (GET /health `retrievers`) are offered; changing a filter
 * runs the search again; relevance is shown in words and as a bar, relative to the best hit. The search is
 * mirrored in the address (?q=&doc_id=&region=&mode=&top_k=) so it can be shared. */
(function () {
  'use strict';

  const P = window.PolicyQA;
  const el = P.el;
  const append = P.append;
  const clear = P.clear;

  const LEAF_PREVIEW_CHARS = 26;
  const MODE_NAMES = { hybrid: '混合', bm25: '关键词', vector: '语义' };
  const MODE_OPTIONS = [['hybrid', '混合（推荐）'], ['bm25', '关键词（BM25）'], ['vector', '语义（向量）']];
  const RETRIEVER_NAMES = { bm25: '关键词', vector: '语义', lookup: '条款引用' };
  // Relevance relative to the best hit of the same search (scores of different modes are not comparable).
  const RELEVANCE_LEVELS = [[0.75, '高'], [0.4, '中'], [0, '低']];

  const form = document.getElementById('search-form');
  const queryInput = document.getElementById('query');
  const docSelect = document.getElementById('filter-doc');
  const regionSelect = document.getElementById('filter-region');
  const modeSelect = document.getElementById('filter-mode');
  const modeHint = document.getElementById('mode-hint');
  const topKSelect = document.getElementById('filter-topk');
  const searchButton = document.getElementById('search-button');
  const errorLine = document.getElementById('search-error');
  const resultsStatus = document.getElementById('results-status');
  const resultsList = document.getElementById('results');
  const copyAllSlot = document.getElementById('copy-all-slot');
  const documentsStatus = document.getElementById('documents-status');
  const documentsList = document.getElementById('documents');
  let busy = false;
  let rerun = false;

  /* ---------- results ---------- */

  /** The clause text, cut to a few lines with a button to show it all when it is long. */
  function clampedText(hit) {
    const quote = el('blockquote', { className: 'clause-text is-clamped' }, P.highlightedText(hit.text, hit.highlights));
    const toggle = el('button', { type: 'button', className: 'btn btn-quiet btn-expand', text: '展开全文', hidden: true,
      'aria-expanded': 'false' });
    toggle.addEventListener('click', function () {
      const expanded = quote.classList.toggle('is-clamped') === false;
      toggle.textContent = expanded ? '收起' : '展开全文';
      toggle.setAttribute('aria-expanded', expanded ? 'true' : 'false');
    });
    // Measured once the item is in the page: only long clauses get the button.
    requestAnimationFrame(function () {
      if (quote.scrollHeight > quote.clientHeight + 2) toggle.hidden = false;
      else quote.classList.remove('is-clamped');
    });
    return el('div', null, [quote, toggle]);
  }

  /** "相关度 高" with a bar: the hit's score as a share of the best score of this search; a clause
   *  found by its reference (发文字号 + number) is "按引用定位". */
  function relevance(hit, best) {
    const retrievers = hit.retrievers || [];
    if (retrievers.indexOf('lookup') >= 0) {
      return el('span', { className: 'relevance' }, '按条款引用定位');
    }
    const share = best > 0 && typeof hit.score === 'number' ? Math.max(0, Math.min(1, hit.score / best)) : 0;
    const level = RELEVANCE_LEVELS.find(function (entry) { return share >= entry[0]; });
    const bar = el('span', { className: 'relevance-bar', 'aria-hidden': 'true' }, el('span'));
    bar.firstChild.style.width = Math.round(share * 100) + '%';
    return el('span', { className: 'relevance', title: '与本次检索最相关的一条相比' }, ['相关度 ' + level[1], bar]);
  }

  function resultItem(hit, rank, best) {
    const doc = hit.doc || {};
    const meta = [];
    if (doc.region) meta.push(doc.region);
    if (hit.retrievers && hit.retrievers.length) {
      meta.push('命中：' + hit.retrievers.map(function (name) { return RETRIEVER_NAMES[name] || name; }).join('、'));
    }
    if (hit.lines && hit.lines.length === 2) {
      meta.push('原文第 ' + (hit.lines[0] === hit.lines[1] ? hit.lines[0] : hit.lines[0] + '–' + hit.lines[1]) + ' 行');
    }
    return el('li', { className: 'card result', 'data-doc-id': hit.doc_id, 'data-clause-id': hit.id }, [
      el('div', { className: 'citation-box' }, [
        el('span', { className: 'rank', text: String(rank) }),
        el('p', { className: 'citation', text: hit.citation || '' }),
      ]),
      clampedText(hit),
      P.fieldList(hit),
      el('p', { className: 'result-meta' }, [relevance(hit, best), el('span', { text: meta.join(' · ') })]),
      el('div', { className: 'card-actions' }, [
        P.copyButton('复制引用', function () { return hit.citation || ''; }),
        P.originalButton(hit),
      ]),
    ]);
  }

  function renderResults(data, body) {
    const hits = Array.isArray(data.hits) ? data.hits : [];
    clear(resultsList);
    clear(copyAllSlot);
    if (!hits.length) {
      resultsStatus.textContent = '没有找到相关条款。可以换个检索词，或放宽文件、地区筛选。';
      return;
    }
    resultsStatus.textContent = '共 ' + hits.length + ' 条（' + (MODE_NAMES[body.mode] || body.mode) + '检索）';
    const best = hits.reduce(function (top, hit) {
      const looked = (hit.retrievers || []).indexOf('lookup') >= 0;
      return !looked && typeof hit.score === 'number' && hit.score > top ? hit.score : top;
    }, 0);
    hits.forEach(function (hit, i) { resultsList.appendChild(resultItem(hit, i + 1, best)); });
    append(copyAllSlot, P.copyButton('复制全部引用', function () {
      return hits.map(function (hit) { return hit.citation || ''; }).join('\n');
    }, 'btn-quiet'));
  }

  function showError(text) {
    errorLine.textContent = text;
    errorLine.hidden = !text;
    queryInput.setAttribute('aria-invalid', text ? 'true' : 'false');
  }

  function currentRequest() {
    const body = { query: queryInput.value.trim(), mode: modeSelect.value, top_k: parseInt(topKSelect.value, 10) };
    if (docSelect.value) body.doc_id = docSelect.value;
    if (regionSelect.value) body.region = regionSelect.value;
    return body;
  }

  function mirrorInAddress(body) {
    const params = new URLSearchParams();
    params.set('q', body.query);
    if (body.doc_id) params.set('doc_id', body.doc_id);
    if (body.region) params.set('region', body.region);
    if (body.mode !== modeSelect.options[0].value) params.set('mode', body.mode);
    if (body.top_k !== 10) params.set('top_k', String(body.top_k));
    try {
      history.replaceState(history.state, '', location.pathname + '?' + params.toString());
    } catch (err) {
      /* the address just stays as it was */
    }
  }

  async function search() {
    const body = currentRequest();
    const problem = P.validateQuestion(body.query);
    if (problem) {
      showError(problem.replace('问题', '检索词'));
      queryInput.focus();
      return;
    }
    if (busy) {
      rerun = true; // a filter changed while searching: search again with it once this one is done
      return;
    }
    busy = true;
    showError('');
    searchButton.disabled = true;
    resultsStatus.textContent = '正在检索…';
    clear(resultsList);
    clear(copyAllSlot);
    mirrorInAddress(body);
    try {
      renderResults(await P.api('/api/v1/search', body), body);
    } catch (err) {
      resultsStatus.textContent = '';
      showError(err instanceof P.ApiError ? err.message : '出了点问题，请稍后再试。');
    } finally {
      busy = false;
      searchButton.disabled = false;
    }
    if (rerun) {
      rerun = false;
      search();
    }
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    search();
  });
  queryInput.addEventListener('input', function () {
    if (!errorLine.hidden) showError('');
  });
  // A changed filter applies at once to the search on screen.
  [docSelect, regionSelect, modeSelect, topKSelect].forEach(function (select) {
    select.addEventListener('change', function () {
      if (queryInput.value.trim()) search();
    });
  });

  /** Offer only the modes the server can run now: hybrid and vector need the vector retriever. */
  function fillModes(retrievers) {
    const vectors = retrievers.indexOf('vector') >= 0;
    clear(modeSelect);
    MODE_OPTIONS.forEach(function (option) {
      if (option[0] === 'bm25' || vectors) append(modeSelect, el('option', { value: option[0], text: option[1] }));
    });
    modeSelect.value = vectors ? 'hybrid' : 'bm25';
    modeHint.textContent = vectors ? '' : '语义检索未启用（服务器未加载向量模型），按关键词检索。';
    modeHint.hidden = vectors;
  }

  /* ---------- documents and outlines ---------- */

  /** The outline as nested sections (from each clause's section path) with the clauses as leaves.
   *  A heading-only clause that repeats a section title is that section, not a leaf. */
  function outlineFromClauses(clauses) {
    const pathTitles = Object.create(null);
    clauses.forEach(function (clause) {
      (clause.path || []).forEach(function (title) { pathTitles[title] = true; });
    });
    const root = { title: '', entries: [], sections: Object.create(null), count: 0 };
    clauses.forEach(function (clause) {
      const counted = clause.kind !== 'heading';
      let node = root;
      if (counted) root.count += 1;
      (clause.path || []).forEach(function (title) {
        let child = node.sections[title];
        if (!child) {
          child = { title: title, entries: [], sections: Object.create(null), count: 0 };
          node.sections[title] = child;
          node.entries.push({ section: child });
        }
        node = child;
        if (counted) node.count += 1;
      });
      const text = String(clause.text || '').trim();
      if (!(clause.kind === 'heading' && pathTitles[text])) node.entries.push({ clause: clause });
    });
    foldOpeningClauses(root);
    return root;
  }

  /** A clause whose first line is the title of a sibling section opens that section: move it inside. */
  function foldOpeningClauses(node) {
    node.entries.forEach(function (entry) {
      if (entry.section) foldOpeningClauses(entry.section);
    });
    node.entries = node.entries.filter(function (entry) {
      if (!entry.clause) return true;
      const title = P.firstLine(entry.clause.text);
      const section = Object.prototype.hasOwnProperty.call(node.sections, title) ? node.sections[title] : null;
      if (!section) return true;
      section.entries.unshift(entry);
      if (entry.clause.kind !== 'heading') section.count += 1;
      return false;
    });
  }

  function leafButton(docId, clause) {
    const text = String(clause.text || '').replace(/\s+/g, ' ').trim();
    // The number is shown apart only when the text does not start with it already.
    const number = String(clause.number || '').trim();
    const label = number && text.indexOf(number) !== 0 ? P.clauseLabel(clause) : '';
    const preview = text.length > LEAF_PREVIEW_CHARS ? text.slice(0, LEAF_PREVIEW_CHARS) + '…' : text;
    const button = el('button', { type: 'button', className: 'outline-leaf' }, [
      label ? el('span', { className: 'leaf-number', text: label }) : null,
      el('span', { className: 'leaf-text', text: preview }),
    ]);
    button.addEventListener('click', function () { P.openDocument(docId, clause.id, { opener: button }); });
    return el('li', null, button);
  }

  function sectionItem(docId, section, depth) {
    const list = el('ul', { className: 'outline' });
    section.entries.forEach(function (entry) {
      list.appendChild(entry.section ? sectionItem(docId, entry.section, depth + 1) : leafButton(docId, entry.clause));
    });
    const summary = el('summary', null, [
      el('span', { className: 'section-name', text: section.title }),
      section.count ? el('span', { className: 'count', text: section.count + ' 条' }) : null,
    ]);
    return el('li', { className: 'outline-section' },
      el('details', { open: depth === 0 ? true : null }, [summary, list]));
  }

  function renderOutline(container, docId, data) {
    clear(container);
    const root = outlineFromClauses(Array.isArray(data.clauses) ? data.clauses : []);
    const filterButton = el('button', { type: 'button', className: 'btn btn-quiet', text: '只检索本文件' });
    filterButton.addEventListener('click', function () {
      docSelect.value = docId;
      queryInput.focus();
      queryInput.scrollIntoView({ block: 'center' });
    });
    const list = el('ul', { className: 'outline outline-root' });
    // Clauses outside every section (the 通知, 前言...) are gathered in one collapsed group.
    const front = { title: '未分章节的内容', entries: [], count: 0 };
    root.entries.forEach(function (entry) {
      if (entry.section) return;
      front.entries.push(entry);
      if (entry.clause.kind !== 'heading') front.count += 1;
    });
    if (front.entries.length) {
      const item = sectionItem(docId, front, 1);
      item.classList.add('outline-front');
      list.appendChild(item);
    }
    root.entries.forEach(function (entry) {
      if (entry.section) list.appendChild(sectionItem(docId, entry.section, 0));
    });
    append(container, [P.docMetaBlock(data.doc || {}), el('div', { className: 'card-actions' }, filterButton), list]);
  }

  function documentItem(doc) {
    const body = el('div', { className: 'outline-body' },
      el('p', { className: 'status-line', text: '展开后载入目录…' }));
    const facts = [doc.doc_number, doc.date_written || doc.date_published,
      doc.clause_count !== undefined ? doc.clause_count + ' 条' : null].filter(Boolean);
    const details = el('details', { 'data-doc-id': doc.id }, [
      el('summary', null, [
        el('span', { className: 'doc-list-title', text: doc.title || doc.id }),
        el('span', { className: 'doc-list-facts', text: facts.join(' · ') }),
      ]),
      body,
    ]);
    let loaded = false;
    details.addEventListener('toggle', async function () {
      if (!details.open || loaded) return;
      loaded = true;
      clear(body);
      append(body, el('p', { className: 'status-line', role: 'status', text: '正在载入目录…' }));
      try {
        renderOutline(body, doc.id, await P.loadDocument(doc.id));
      } catch (err) {
        loaded = false;
        clear(body);
        append(body, el('p', { className: 'error-line', role: 'alert', text: err.message }));
      }
    });
    return el('li', { className: 'doc-list-item' }, [P.docBadges(doc), details]);
  }

  function fillFilters(docs) {
    const regions = [];
    docs.forEach(function (doc) {
      append(docSelect, el('option', { value: doc.id, text: doc.title || doc.id }));
      if (doc.region && regions.indexOf(doc.region) < 0) regions.push(doc.region);
    });
    regions.forEach(function (region) { append(regionSelect, el('option', { value: region, text: region })); });
  }

  function restoreFromAddress() {
    const params = new URLSearchParams(location.search);
    const query = params.get('q');
    const pick = function (select, value) {
      const known = Array.prototype.some.call(select.options, function (option) { return option.value === value; });
      if (value && known) select.value = value;
    };
    pick(docSelect, params.get('doc_id'));
    pick(regionSelect, params.get('region'));
    pick(modeSelect, params.get('mode'));
    pick(topKSelect, params.get('top_k'));
    if (query) {
      queryInput.value = query;
      search();
    }
  }

  async function loadDocuments() {
    try {
      const health = await P.api('/health');
      fillModes(Array.isArray(health.retrievers) ? health.retrievers : ['bm25']);
    } catch (err) {
      fillModes(['bm25']);
    }
    try {
      const data = await P.api('/api/v1/documents');
      const docs = Array.isArray(data) ? data : (data && data.documents) || [];
      fillFilters(docs);
      documentsStatus.textContent = '共 ' + docs.length + ' 份文件，展开可查看目录。';
      docs.forEach(function (doc) { documentsList.appendChild(documentItem(doc)); });
    } catch (err) {
      documentsStatus.textContent = '';
      append(documentsStatus, el('span', { className: 'error-line', text: '文件列表载入失败：' + err.message }));
    }
    restoreFromAddress();
  }

  loadDocuments();
})();
