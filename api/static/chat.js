/* The public chat page: ask a question, get source cards with the clauses verbatim. Follow-ups reuse the
 * conversation's session_id (kept in sessionStorage) so "那长宁区呢？" is understood. `/?q=...` asks on load. */
(function () {
  'use strict';

  const P = window.PolicyQA;
  const el = P.el;
  const append = P.append;

  const SESSION_KEY = 'policyqa.session_id';
  const CARDS_SHOWN = 3;
  const STARTER_QUESTIONS = [
    '渝中区托育服务有什么政策？',
    '长宁区社区托育“宝宝屋”覆盖率要达到多少？',
    '广西到2025年每千人口托位数目标是多少？',
    '大渡口区儿童发展规划有哪些主要指标？',
  ];
  const NOT_FOUND_DEFAULT = '没有找到与这个问题直接相关的政策条款。可以换个说法，或试试下面的问题。';

  const form = document.getElementById('ask-form');
  const input = document.getElementById('question');
  const sendButton = document.getElementById('send');
  const errorLine = document.getElementById('ask-error');
  const messages = document.getElementById('messages');
  const welcome = document.getElementById('welcome');
  let busy = false;

  /* ---------- session ---------- */

  function readSession() {
    try {
      return window.sessionStorage.getItem(SESSION_KEY) || '';
    } catch (err) {
      return '';
    }
  }

  function writeSession(sessionId) {
    try {
      if (sessionId) window.sessionStorage.setItem(SESSION_KEY, sessionId);
      else window.sessionStorage.removeItem(SESSION_KEY);
    } catch (err) {
      /* private mode: the conversation simply has no memory */
    }
  }

  /* ---------- rendering ---------- */

  function chip(text) {
    return el('button', { type: 'button', className: 'chip', onClick: function () { ask(text); } }, text);
  }

  function userMessage(text) {
    return el('div', { className: 'msg msg-user' }, el('div', { className: 'bubble' }, el('p', { text: text })));
  }

  function sourceCard(hit, rank) {
    const doc = hit.doc || {};
    const date = doc.date_written || doc.date_published;
    return el('li', {
      className: 'card source-card', 'data-doc-id': hit.doc_id, 'data-clause-id': hit.id,
      'aria-label': '来源 ' + rank,
    }, [
      el('header', { className: 'card-head' }, [
        P.docBadges(doc),
        date ? el('span', { className: 'card-date', text: date }) : null,
      ]),
      P.provenance(hit),
      el('blockquote', { className: 'clause-text' }, P.highlightedText(hit.text, hit.highlights)),
      P.fieldList(hit),
      el('div', { className: 'card-actions' }, [
        P.copyButton('复制引用', function () { return hit.citation || ''; }),
        P.originalButton(hit),
      ]),
    ]);
  }

  function cardList(hits) {
    const list = el('ol', { className: 'cards' });
    const shown = hits.slice(0, CARDS_SHOWN);
    const rest = hits.slice(CARDS_SHOWN);
    shown.forEach(function (hit, i) { list.appendChild(sourceCard(hit, i + 1)); });
    if (!rest.length) return list;
    const more = el('button', { type: 'button', className: 'btn btn-more', text: '展开其余 ' + rest.length + ' 条相关条款' });
    more.addEventListener('click', function () {
      rest.forEach(function (hit, i) { list.appendChild(sourceCard(hit, CARDS_SHOWN + i + 1)); });
      more.remove();
      const next = list.children[CARDS_SHOWN];
      if (next) next.querySelector('button').focus();
    });
    return el('div', null, [list, more]);
  }

  function answerMessage(answer) {
    const bubble = el('div', { className: 'bubble bubble-answer' });
    const hits = Array.isArray(answer.hits) ? answer.hits : [];
    const resolved = answer.resolved_question;
    if (resolved && resolved !== answer.question) {
      append(bubble, el('p', { className: 'resolved' }, ['按“', el('strong', { text: resolved }), '”查找']));
    }
    if (answer.status === 'found' && hits.length) {
      append(bubble, el('p', { className: 'answer-intro', text: '找到 ' + hits.length + ' 条相关政策原文：' }));
      if (answer.message) append(bubble, el('p', { className: 'hint', text: answer.message }));
      append(bubble, cardList(hits));
    } else {
      append(bubble, el('p', { className: 'not-found', text: answer.message || NOT_FOUND_DEFAULT }));
      const suggestions = Array.isArray(answer.suggestions) ? answer.suggestions : [];
      if (suggestions.length) {
        append(bubble, el('div', { className: 'chips', role: 'group', 'aria-label': '换个问法' },
          suggestions.map(chip)));
      }
    }
    return el('div', { className: 'msg msg-bot', 'data-status': answer.status || '' }, bubble);
  }

  function loadingMessage() {
    return el('div', { className: 'msg msg-bot msg-loading' }, el('div', { className: 'bubble' }, [
      el('span', { className: 'dots', 'aria-hidden': 'true' }, [el('i'), el('i'), el('i')]),
      el('span', { text: '正在查找相关条款…' }),
    ]));
  }

  function errorMessage(text, question) {
    const retry = el('button', { type: 'button', className: 'btn btn-quiet', text: '重试' });
    const item = el('div', { className: 'msg msg-bot msg-error' }, el('div', { className: 'bubble', role: 'alert' }, [
      el('p', { text: text }), retry,
    ]));
    retry.addEventListener('click', function () {
      item.remove();
      ask(question, { echo: false });
    });
    return item;
  }

  /* ---------- asking ---------- */

  function showInputError(text) {
    errorLine.textContent = text;
    errorLine.hidden = !text;
    input.setAttribute('aria-invalid', text ? 'true' : 'false');
  }

  function setBusy(value) {
    busy = value;
    sendButton.disabled = value;
    sendButton.textContent = value ? '查找中' : '发送';
    messages.setAttribute('aria-busy', value ? 'true' : 'false');
  }

  /** Ask `question`, render the answer (or a Chinese error) in the conversation. */
  async function ask(question, options) {
    const opts = options || {};
    const text = String(question || '').trim();
    const problem = P.validateQuestion(text);
    if (problem) {
      showInputError(problem);
      input.focus();
      return;
    }
    if (busy) return;
    showInputError('');
    if (opts.echo !== false) messages.appendChild(userMessage(text));
    const loading = loadingMessage();
    messages.appendChild(loading);
    loading.scrollIntoView({ block: 'end' });
    setBusy(true);
    let item;
    try {
      const body = { question: text };
      const sessionId = readSession();
      if (sessionId) body.session_id = sessionId;
      const answer = await P.api('/api/v1/ask', body);
      if (answer.session_id) writeSession(answer.session_id);
      item = answerMessage(answer);
    } catch (err) {
      item = errorMessage(err instanceof P.ApiError ? err.message : '出了点问题，请稍后再试。', text);
    } finally {
      setBusy(false);
    }
    messages.replaceChild(item, loading);
    item.scrollIntoView({ block: 'start' });
  }

  function autoGrow() {
    // Empty: back to the stylesheet's one-line height (a long placeholder must not grow the box).
    input.style.height = 'auto';
    if (input.value) input.style.height = Math.min(input.scrollHeight, 160) + 'px';
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    const text = input.value;
    if (P.validateQuestion(text) || busy) {
      ask(text);
      return;
    }
    input.value = '';
    autoGrow();
    // On phones close the keyboard so the answer has the screen.
    if (window.matchMedia && window.matchMedia('(pointer: coarse)').matches) input.blur();
    ask(text);
  });

  input.addEventListener('keydown', function (event) {
    // Enter sends, Shift+Enter breaks the line; never while an IME is composing Chinese.
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      if (typeof form.requestSubmit === 'function') form.requestSubmit();
      else form.dispatchEvent(new Event('submit', { cancelable: true }));
    }
  });
  input.addEventListener('input', function () {
    autoGrow();
    if (!errorLine.hidden) showInputError('');
  });

  document.getElementById('new-chat').addEventListener('click', function () {
    writeSession('');
    while (messages.lastChild && messages.lastChild !== welcome) messages.removeChild(messages.lastChild);
    showInputError('');
    input.value = '';
    autoGrow();
    input.focus();
    P.announce('已开始新对话');
  });

  append(document.getElementById('starters'), STARTER_QUESTIONS.map(chip));

  // "/?q=..." (the WeChat reply links here): ask at once, then drop q so a reload does not ask again.
  const initial = new URLSearchParams(location.search).get('q');
  if (initial) {
    try {
      history.replaceState(history.state, '', location.pathname + location.hash);
    } catch (err) {
      /* keep the address as it is */
    }
    ask(initial.slice(0, P.MAX_QUESTION_CHARS * 2));
  }
})();
