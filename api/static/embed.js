/* PolicyQA chat widget for other websites. One line on the host page:
 *
 *   <script src="https://<policyqa host>/static/embed.js" data-title="政策问答" data-color="#0b5cad"
 *           data-position="right" async></script>
 *
 * gives a chat button in a corner that opens the chat page in an iframe (full screen on phones).
 * - No third-party assets, no inline <style>, no style attributes in markup, no eval: styles are set
 *   through the CSSOM, so it runs under a strict CSP that allows this script and `frame-src` for the
 *   PolicyQA origin.
 * - data-title (at most 20 characters), data-color (#rgb or #rrggbb; the text colour is chosen for
 *   contrast), data-position ("right" or "left").
 * - The PolicyQA server decides who may embed it: its chat page answers with
 *   `Content-Security-Policy: frame-ancestors 'self' <POLICYQA_CORS_ORIGINS>`. */
(function () {
  'use strict';

  if (window.__policyqaWidget) return; // pasted twice: one button
  window.__policyqaWidget = true;

  var DEFAULT_TITLE = '政策问答';
  var DEFAULT_COLOR = '#0b5cad';
  var Z_INDEX = '2147483000';
  var PHONE_QUERY = '(max-width: 520px)';
  var SVG_NS = 'http://www.w3.org/2000/svg';

  var script = document.currentScript || (function () {
    var scripts = document.getElementsByTagName('script');
    for (var i = scripts.length - 1; i >= 0; i -= 1) {
      if (/\/static\/embed\.js(\?|$)/.test(scripts[i].src)) return scripts[i];
    }
    return null;
  })();
  if (!script || !script.src) return;

  var origin = new URL(script.src, location.href).origin;
  var title = (script.getAttribute('data-title') || DEFAULT_TITLE).trim().slice(0, 20) || DEFAULT_TITLE;
  var color = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(script.getAttribute('data-color') || '')
    ? script.getAttribute('data-color') : DEFAULT_COLOR;
  var side = script.getAttribute('data-position') === 'left' ? 'left' : 'right';
  var ink = readableInk(color);

  /** Black or white, whichever reads better on `hex` (WCAG relative luminance). */
  function readableInk(hex) {
    var value = hex.slice(1);
    if (value.length === 3) value = value.replace(/(.)/g, '$1$1');
    var channels = [0, 2, 4].map(function (at) {
      var c = parseInt(value.slice(at, at + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
    return (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) ? '#000000' : '#ffffff';
  }

  function styled(node, styles) {
    node.style.setProperty('all', 'initial');
    Object.keys(styles).forEach(function (name) { node.style.setProperty(name, styles[name]); });
    return node;
  }

  function icon(paths) {
    var svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', '22');
    svg.setAttribute('height', '22');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('fill', 'none');
    svg.setAttribute('stroke', 'currentColor');
    svg.setAttribute('stroke-width', '2');
    svg.setAttribute('stroke-linecap', 'round');
    svg.setAttribute('stroke-linejoin', 'round');
    paths.forEach(function (d) {
      var path = document.createElementNS(SVG_NS, 'path');
      path.setAttribute('d', d);
      svg.appendChild(path);
    });
    return svg;
  }

  var font = '-apple-system, BlinkMacSystemFont, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", ' +
    '"WenQuanYi Micro Hei", sans-serif';

  var button = styled(document.createElement('button'), {
    position: 'fixed', bottom: '20px', display: 'inline-flex', 'align-items': 'center', gap: '8px',
    padding: '12px 18px', 'border-radius': '999px', background: color, color: ink, 'font-family': font,
    'font-size': '16px', 'font-weight': '600', 'line-height': '1.2', cursor: 'pointer', 'z-index': Z_INDEX,
    'box-shadow': '0 4px 16px rgba(0, 0, 0, 0.25)', border: '2px solid ' + ink, 'box-sizing': 'border-box',
  });
  button.style.setProperty(side, '20px');
  button.type = 'button';
  button.id = 'policyqa-widget-button';
  button.setAttribute('aria-expanded', 'false');
  button.setAttribute('aria-controls', 'policyqa-widget-panel');
  button.appendChild(icon(['M4 4h16v12H9l-5 4z', 'M8 9h8', 'M8 12h5']));
  var label = styled(document.createElement('span'), { color: ink, 'font-family': font, 'font-size': '16px' });
  label.textContent = title;
  button.appendChild(label);

  var panel = styled(document.createElement('div'), {
    position: 'fixed', display: 'none', 'flex-direction': 'column', background: '#ffffff',
    'z-index': Z_INDEX, 'box-shadow': '0 8px 32px rgba(0, 0, 0, 0.3)', overflow: 'hidden',
    'font-family': font, 'box-sizing': 'border-box',
  });
  panel.id = 'policyqa-widget-panel';
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-label', title);

  var bar = styled(document.createElement('div'), {
    display: 'flex', 'align-items': 'center', 'justify-content': 'space-between', gap: '8px',
    padding: '8px 8px 8px 14px', background: color, color: ink, 'font-family': font, flex: 'none',
  });
  var heading = styled(document.createElement('span'), {
    color: ink, 'font-family': font, 'font-size': '16px', 'font-weight': '600',
  });
  heading.textContent = title;
  var close = styled(document.createElement('button'), {
    display: 'inline-flex', 'align-items': 'center', 'justify-content': 'center', 'min-width': '44px',
    'min-height': '40px', 'border-radius': '999px', border: '1px solid ' + ink, color: ink,
    background: 'transparent', cursor: 'pointer', 'font-family': font, 'font-size': '15px', padding: '0 12px',
  });
  close.type = 'button';
  close.textContent = '关闭';
  close.setAttribute('aria-label', '关闭' + title);
  bar.appendChild(heading);
  bar.appendChild(close);
  panel.appendChild(bar);

  var frame = null;
  var phone = window.matchMedia ? window.matchMedia(PHONE_QUERY) : null;

  function layout() {
    var small = phone ? phone.matches : window.innerWidth <= 520;
    var box = small
      ? { top: '0', bottom: '0', left: '0', right: '0', width: '100%', height: '100%', 'border-radius': '0' }
      : { top: 'auto', bottom: '88px', width: '380px', height: 'min(640px, calc(100vh - 120px))',
        'border-radius': '12px', left: 'auto', right: 'auto' };
    Object.keys(box).forEach(function (name) { panel.style.setProperty(name, box[name]); });
    if (!small) panel.style.setProperty(side, '20px');
  }

  function open() {
    if (!frame) {
      frame = styled(document.createElement('iframe'), {
        flex: '1', width: '100%', border: '0', display: 'block', background: '#ffffff',
      });
      frame.title = title;
      frame.setAttribute('allow', 'clipboard-write');
      frame.src = origin + '/?embed=1&title=' + encodeURIComponent(title);
      panel.appendChild(frame);
    }
    layout();
    panel.style.setProperty('display', 'flex');
    button.setAttribute('aria-expanded', 'true');
    close.focus();
  }

  function shut() {
    panel.style.setProperty('display', 'none');
    button.setAttribute('aria-expanded', 'false');
    button.focus();
  }

  button.addEventListener('click', function () {
    if (button.getAttribute('aria-expanded') === 'true') shut();
    else open();
  });
  close.addEventListener('click', shut);
  panel.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') shut();
  });
  if (phone && phone.addEventListener) phone.addEventListener('change', layout);
  // Escape pressed inside the chat (another origin: its key events never reach this page).
  window.addEventListener('message', function (event) {
    if (event.origin === origin && event.data === 'policyqa:close' && frame && event.source === frame.contentWindow &&
        button.getAttribute('aria-expanded') === 'true') {
      shut();
    }
  });

  function mount() {
    document.body.appendChild(button);
    document.body.appendChild(panel);
  }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
