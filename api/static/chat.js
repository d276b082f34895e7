/* The public chat page: ask a question, get source cards with the clauses verbatim.
 * - Follow-ups reuse the conversation's session_id (sessionStorage) so "那长宁区呢？" is understood, and the
 *   visible conversation is kept there too, so a reload shows what the server remembers (新对话 clears both).
 * - found: the answering sentence(s) first, verbatim, then the whole clause (folded on phones);
 *   partial: what the documents do not state, then related clauses marked as related; not_found: the
 *   message and questions to try.
 * - 👍/👎 (with an optional reason) on every answer; a share button copying a link that asks again.
 * - `/?q=...` asks on load and stays in the address bar (a reload does not ask twice). */
(function () {
  'use strict';

  const P = window.PolicyQA;
  const el = P.el;
  const append = P.append;

  const SESSION_KEY = 'policyqa.session_id';
  const CONVERSATION_KEY = 'policyqa.conversation';
  const ASKED_Q_KEY = 'policyqa.asked_q';
  const MAX_TURNS_KEPT = 40;
  const CARDS_SHOWN = 3;
  const STARTER_QUESTIONS = [
    '渝中区托育服务有什么政策？',
    '长宁区社区托育“宝宝屋”覆盖率要达到多少？',
    '广西到2025年每千人口托位数目标是多少？',
    '大渡口区儿童发展规划有哪些主要指标？',
  ];
  const NOT_FOUND_DEFAULT = '没有找到与这个问题直接相关的政策条款。可以换个说法，或试试下面的问题。';
  const PARTIAL_DEFAULT = '收录的政策文件没有写明您问的具体内容。以下是相关条款：';
  const REASONS = [
    ['not_answered', '没回答我的问题'],
    ['wrong_clause', '条款不对'],
    ['other', '其他'],
  ];
  const ICON_INFO = ['M12 8h.01', 'M11 12h1v5h1', 'M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z'];
  const ICON_SHARE = ['M4 12v7h16v-7', 'M12 3v12', 'M7 8l5-5 5 5'];
  // Drawn, not emoji: phones and kiosks without an emoji font would show empty boxes.
  const ICON_UP = ['M7 11v10H3V11z', 'M7 11l4-8a3 3 0 0 1 3 3v4h5.5a2 2 0 0 1 2 2.3l-1.2 7A2 2 0 0 1 18.3 21H7'];
  const ICON_DOWN = ['M17 13V3h4v10z', 'M17 13l-4 8a3 3 0 0 1-3-3v-4H4.5a2 2 0 0 1-2-2.3l1.2-7A2 2 0 0 1 5.7 3H17'];

  const form = document.getElementById('ask-form');
  const input = document.getElementById('question');
  const sendButton = document.getElementById('send');
  const errorLine = document.getElementById('ask-error');
  const counter = document.getElementById('question-counter');
  const messages = document.getElementById('messages');
  const welcome = document.getElementById('welcome');
  let busy = false;
  let turns = [];

  /* ---------- storage (sessionStorage: this tab's conversation only) ---------- */

  function readStored(key) {
    try {
      return window.sessionStorage.getItem(key) || '';
    } catch (err) {
      return '';
    }
  }

  function writeStored(key, value) {
    try {
      if (value) window.sessionStorage.setItem(key, value);
      else window.sessionStorage.removeItem(key);
      return true;
    } catch (err) {
      return false; /* private mode or full: the conversation is simply not kept */
    }
  }

  function saveTurns() {
    let kept = turns.slice(-MAX_TURNS_KEPT);
    while (kept.length && !writeStored(CONVERSATION_KEY, JSON.stringify(kept))) kept = kept.slice(1);
  }

  function loadTurns() {
    try {
      const data = JSON.parse(readStored(CONVERSATION_KEY) || '[]');
      return Array.isArray(data) ? data.filter(function (turn) {
        return turn && typeof turn.question === 'string' && turn.answer && typeof turn.answer === 'object';
      }) : [];
    } catch (err) {
      return [];
    }
  }

  /* ---------- rendering ---------- */

  function chip(text) {
    return el('button', { type: 'button', className: 'chip', onClick: function () { ask(text); } }, text);
  }

  function userMessage(text) {
    return el('div', { className: 'msg msg-user' }, el('div', { className: 'bubble' }, el('p', { text: text })));
  }

  /** The sentences that answer, verbatim (their text is a slice of the clause text); none when they
   *  are the whole clause (the clause below says it all, shown twice it would only be longer). */
  function answerSentences(hit) {
    const text = String(hit.text || '');
    const spans = (Array.isArray(hit.answer_sentences) ? hit.answer_sentences : []).filter(function (span) {
      return span && typeof span.text === 'string' && span.text.trim() &&
        text.slice(span.start, span.end) === span.text;
    });
    const said = spans.map(function (span) { return span.text; }).join('').replace(/\s+/g, '');
    return said && said === text.replace(/\s+/g, '') ? [] : spans;
  }

  /** The whole clause; folded to a few lines on phones when a takeaway is shown above it. */
  function clauseBlock(hit, folded) {
    const quote = el('blockquote', { className: 'clause-text' + (folded ? ' is-folded' : '') },
      P.highlightedText(hit.text, hit.highlights));
    if (!folded) return quote;
    const toggle = el('button', {
      type: 'button', className: 'btn btn-quiet btn-unfold', text: '展开全文', 'aria-expanded': 'false',
    });
    toggle.hidden = true;
    toggle.addEventListener('click', function () {
      const open = quote.classList.toggle('is-folded') === false;
      toggle.textContent = open ? '收起' : '展开全文';
      toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    });
    // Measured once in the page (and again when the type size changes): only a clause that is really
    // cut gets the button.
    const measure = function () {
      if (toggle.getAttribute('aria-expanded') === 'true') return;
      toggle.hidden = !(quote.scrollHeight > quote.clientHeight + 2);
    };
    requestAnimationFrame(measure);
    window.addEventListener('resize', measure);
    document.addEventListener('policyqa:textsize', measure);
    return el('div', { className: 'clause-block' }, [quote, toggle]);
  }

  function sourceCard(hit, rank, related) {
    const doc = hit.doc || {};
    const date = doc.date_written || doc.date_published;
    const sentences = related ? [] : answerSentences(hit);
    return el('li', {
      className: 'card source-card' + (related ? ' is-related' : ''), 'data-doc-id': hit.doc_id,
      'data-clause-id': hit.id, 'data-role': related ? 'related' : 'answer',
      'aria-label': (related ? '相关条款 ' : '来源 ') + rank,
    }, [
      el('header', { className: 'card-head' }, [
        el('div', { className: 'badges' }, [
          related ? el('span', { className: 'badge badge-related', text: '相关条款' }) : null,
          P.docBadges(doc),
        ]),
        date ? el('span', { className: 'card-date', text: date }) : null,
      ]),
      sentences.length ? el('p', { className: 'takeaway' }, [
        el('span', { className: 'takeaway-label', text: '原文要点' }),
        sentences.map(function (span) { return span.text.trim(); }).join(''),
      ]) : null,
      P.provenance(hit),
      clauseBlock(hit, sentences.length > 0),
      P.fieldList(hit),
      el('div', { className: 'card-actions' }, [
        P.copyButton('复制引用', function () { return hit.citation || ''; }),
        P.originalButton(hit),
      ]),
    ]);
  }

  function cardList(hits, related) {
    const list = el('ol', { className: 'cards' });
    const shown = hits.slice(0, CARDS_SHOWN);
    const rest = hits.slice(CARDS_SHOWN);
    shown.forEach(function (hit, i) { list.appendChild(sourceCard(hit, i + 1, related)); });
    if (!rest.length) return list;
    const more = el('button', { type: 'button', className: 'btn btn-more',
      text: '展开其余 ' + rest.length + ' 条' + (related ? '相关条款' : '条款') });
    more.addEventListener('click', function () {
      rest.forEach(function (hit, i) { list.appendChild(sourceCard(hit, CARDS_SHOWN + i + 1, related)); });
      more.remove();
      const next = list.children[CARDS_SHOWN];
      if (next) next.querySelector('button').focus();
    });
    return el('div', null, [list, more]);
  }

  /** "已按…查找" only when the question was really rewritten: a follow-up completed, a place carried
   *  over from the conversation, or a typo corrected (shown with what was typed). */
  function rewriteLines(answer) {
    const rewrites = Array.isArray(answer.rewrites) ? answer.rewrites : [];
    const lines = [];
    const resolved = answer.resolved_question;
    if ((rewrites.indexOf('follow_up') >= 0 || rewrites.indexOf('place') >= 0) && resolved) {
      const why = rewrites.indexOf('follow_up') >= 0 ? '（接着上一个问题）' : '（沿用上文提到的地区）';
      lines.push(el('p', { className: 'resolved' }, ['已按“', el('strong', { text: resolved }), '”查找' + why]));
    }
    const corrections = Array.isArray(answer.corrections) ? answer.corrections : [];
    if (rewrites.indexOf('typo') >= 0 && corrections.length) {
      const parts = [];
      corrections.forEach(function (fix, i) {
        if (!fix || !fix.to) return;
        parts.push(i ? '；已按“' : '已按“', el('strong', { text: fix.to }), '”查找（您输入的是“' + (fix.from || '') + '”）');
      });
      lines.push(el('p', { className: 'resolved resolved-typo' }, parts));
    }
    return lines;
  }

  function shareLink(answer) {
    const question = answer.resolved_question || answer.question || '';
    return location.origin + '/?q=' + encodeURIComponent(question);
  }

  function feedbackBar(turn) {
    const answer = turn.answer;
    const thanks = el('span', { className: 'feedback-thanks', role: 'status' });
    const up = el('button', { type: 'button', className: 'btn btn-vote btn-up', 'aria-pressed': 'false' },
      [P.icon(ICON_UP), '有帮助']);
    const down = el('button', { type: 'button', className: 'btn btn-vote btn-down', 'aria-pressed': 'false' },
      [P.icon(ICON_DOWN), '没帮助']);
    const reasonButtons = REASONS.map(function (reason) {
      return el('button', { type: 'button', className: 'chip', 'data-reason': reason[0], 'aria-pressed': 'false',
        text: reason[1] });
    });
    const reasons = el('div', { className: 'feedback-reasons', hidden: true }, [
      el('span', { className: 'feedback-question', id: 'why-' + answer.query_id, text: '哪里不满意？（可选）' }),
      el('div', { className: 'chips', role: 'group', 'aria-labelledby': 'why-' + answer.query_id }, reasonButtons),
    ]);

    function show() {
      up.setAttribute('aria-pressed', turn.vote === 'up' ? 'true' : 'false');
      down.setAttribute('aria-pressed', turn.vote === 'down' ? 'true' : 'false');
      reasons.hidden = turn.vote !== 'down';
      reasonButtons.forEach(function (button) {
        button.setAttribute('aria-pressed', button.getAttribute('data-reason') === turn.reason ? 'true' : 'false');
      });
    }

    async function send(rating, reason) {
      const body = { query_id: answer.query_id, rating: rating };
      if (reason) body.reason = reason;
      try {
        await P.api('/api/v1/feedback', body);
        turn.vote = rating;
        turn.reason = reason || null;
        saveTurns();
        show();
        thanks.textContent = rating === 'up' ? '谢谢反馈！' : (reason ? '谢谢，已记录原因。' : '谢谢反馈，我们会改进。');
      } catch (err) {
        thanks.textContent = err instanceof P.ApiError ? err.message : '反馈没有发送成功，请稍后再试。';
      }
    }

    up.addEventListener('click', function () { send('up'); });
    down.addEventListener('click', function () { send('down'); });
    reasonButtons.forEach(function (button) {
      button.addEventListener('click', function () { send('down', button.getAttribute('data-reason')); });
    });
    show();
    return el('div', { className: 'feedback', role: 'group', 'aria-label': '这个回答有帮助吗' }, [
      el('span', { className: 'feedback-question', text: '有帮助吗？' }), up, down, reasons, thanks,
    ]);
  }

  function answerTools(turn) {
    const share = P.copyButton('分享', function () { return shareLink(turn.answer); }, 'btn-quiet btn-share');
    share.replaceChild(P.icon(ICON_SHARE), share.firstChild);
    share.setAttribute('aria-label', '分享：复制可以重新提出这个问题的链接');
    share.addEventListener('click', function () { P.announce('链接已复制，发给别人打开即可看到这个问题的回答'); });
    return el('div', { className: 'answer-tools' }, [
      turn.answer.query_id ? feedbackBar(turn) : null,
      share,
    ]);
  }

  function answerMessage(turn) {
    const answer = turn.answer;
    const bubble = el('div', { className: 'bubble bubble-answer' });
    const hits = Array.isArray(answer.hits) ? answer.hits : [];
    append(bubble, rewriteLines(answer));
    if (answer.status === 'found' && hits.length) {
      append(bubble, el('p', { className: 'answer-intro', text: '找到 ' + hits.length + ' 条相关政策原文：' }));
      if (answer.message) append(bubble, el('p', { className: 'hint', text: answer.message }));
      append(bubble, cardList(hits, false));
    } else if (answer.status === 'partial') {
      append(bubble, el('div', { className: 'partial-note' }, [
        P.icon(ICON_INFO), el('p', { className: 'partial-message', text: answer.message || PARTIAL_DEFAULT }),
      ]));
      if (hits.length) {
        // The message usually ends "以下是相关条款，供参考：" already; say it only when it does not.
        if (!/(相关条款|供参考)[：:]?$/.test(answer.message || '')) {
          append(bubble, el('p', { className: 'related-intro', text: '以下条款与问题相关，仅供参考：' }));
        }
        append(bubble, cardList(hits, true));
      }
    } else {
      append(bubble, el('p', { className: 'not-found', text: answer.message || NOT_FOUND_DEFAULT }));
      const suggestions = Array.isArray(answer.suggestions) ? answer.suggestions : [];
      if (suggestions.length) {
        append(bubble, el('div', { className: 'chips', role: 'group', 'aria-label': '换个问法' },
          suggestions.map(chip)));
      }
    }
    append(bubble, answerTools(turn));
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

  function updateCounter() {
    const length = input.value.trim().length;
    counter.textContent = length + '/' + P.MAX_QUESTION_CHARS + ' 字';
    const over = length > P.MAX_QUESTION_CHARS;
    counter.classList.toggle('is-over', over);
    if (over) showInputError(P.validateQuestion(input.value));
    else if (!errorLine.hidden && input.getAttribute('aria-invalid') === 'true') showInputError('');
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
      return false;
    }
    if (busy) return false;
    showInputError('');
    if (opts.echo !== false) messages.appendChild(userMessage(text));
    const loading = loadingMessage();
    messages.appendChild(loading);
    loading.scrollIntoView({ block: 'end' });
    setBusy(true);
    let item;
    try {
      const body = { question: text };
      const sessionId = readStored(SESSION_KEY);
      if (sessionId) body.session_id = sessionId;
      const answer = await P.api('/api/v1/ask', body);
      if (answer.session_id) writeStored(SESSION_KEY, answer.session_id);
      const turn = { question: text, answer: answer, vote: null, reason: null };
      turns.push(turn);
      saveTurns();
      item = answerMessage(turn);
    } catch (err) {
      item = errorMessage(err instanceof P.ApiError ? err.message : '出了点问题，请稍后再试。', text);
    } finally {
      setBusy(false);
    }
    messages.replaceChild(item, loading);
    item.scrollIntoView({ block: 'start' });
    return true;
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
      ask(text); // shows why (empty, too long) and keeps the text, so a long paste can be shortened
      return;
    }
    input.value = '';
    autoGrow();
    updateCounter();
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
    if (!errorLine.hidden && input.value.trim().length <= P.MAX_QUESTION_CHARS) showInputError('');
    updateCounter();
  });

  document.getElementById('new-chat').addEventListener('click', function () {
    writeStored(SESSION_KEY, '');
    writeStored(CONVERSATION_KEY, '');
    turns = [];
    while (messages.lastChild && messages.lastChild !== welcome) messages.removeChild(messages.lastChild);
    showInputError('');
    input.value = '';
    autoGrow();
    updateCounter();
    input.focus();
    P.announce('已开始新对话');
  });

  append(document.getElementById('starters'), STARTER_QUESTIONS.map(chip));

  // An embedding site may name the chat (embed.js passes ?title=).
  const params = new URLSearchParams(location.search);
  const embeddedTitle = params.get('title');
  if (params.get('embed') === '1' && window.parent !== window) {
    document.body.classList.add('is-embedded');
    // Escape in the embedded chat closes the widget (embed.js listens); capture phase, so an open
    // original-text view closes first and only a second Escape closes the widget.
    document.addEventListener('keydown', function (event) {
      if (event.key !== 'Escape' || document.documentElement.classList.contains('viewer-open')) return;
      window.parent.postMessage('policyqa:close', '*');
    }, true);
  }
  if (embeddedTitle) {
    document.getElementById('app-title-text').textContent = embeddedTitle.slice(0, 20);
    document.title = embeddedTitle.slice(0, 20);
  }

  // The conversation of this tab, as it was before a reload.
  turns = loadTurns();
  turns.forEach(function (turn) {
    messages.appendChild(userMessage(turn.question));
    messages.appendChild(answerMessage(turn));
  });
  updateCounter();

  // "/?q=..." (shared links, the WeChat reply): ask once; the address keeps q so it can be shared again.
  const initial = params.get('q');
  if (initial && readStored(ASKED_Q_KEY) !== initial) {
    writeStored(ASKED_Q_KEY, initial);
    const text = initial.trim();
    if (P.validateQuestion(text)) {
      input.value = text;
      autoGrow();
      updateCounter();
      showInputError(P.validateQuestion(text));
    } else {
      ask(text);
    }
  } else if (turns.length) {
    messages.lastChild.scrollIntoView({ block: 'start' });
  }
})();
