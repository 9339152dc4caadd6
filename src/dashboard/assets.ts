/**
 * The dashboard's only script and stylesheet, served by the ship itself (no CDN, no build step). The script writes
 * log lines with textContent, so nothing a service logs becomes markup; the overview it swaps in is server-escaped.
 */
export const APP_JS = `'use strict';
(function () {
  var select = document.getElementById('log-service');
  var pane = document.getElementById('log-lines');
  var state = document.getElementById('log-state');
  var source = null;
  function follow(name) {
    if (source) source.close();
    source = null;
    pane.textContent = '';
    state.textContent = '';
    if (!name) return;
    source = new EventSource('/starphleet/dashboard/logs/' + encodeURIComponent(name));
    source.onopen = function () { state.textContent = 'following ' + name; };
    source.onmessage = function (e) {
      var line = document.createElement('div');
      line.className = 'line';
      line.textContent = e.data;
      pane.appendChild(line);
      while (pane.childNodes.length > 2000) pane.removeChild(pane.firstChild);
      pane.scrollTop = pane.scrollHeight;
    };
    source.onerror = function () { state.textContent = source && source.readyState === 2 ? 'stopped (log in again?)' : 'reconnecting'; };
  }
  if (select) {
    select.addEventListener('change', function () {
      history.replaceState(null, '', '?service=' + encodeURIComponent(select.value));
      follow(select.value);
    });
    follow(select.value);
  }
  setInterval(function () {
    fetch('/starphleet/dashboard/overview', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (r.status === 401) { location.reload(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (text) { if (typeof text === 'string') document.getElementById('overview').innerHTML = text; })
      .catch(function () {});
  }, 5000);
})();
`;

export const STYLE_CSS = `body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d232a; background: #f6f7f9; }
header { display: flex; justify-content: space-between; align-items: baseline; padding: 0.6em 1.2em; background: #1d232a; color: #fff; }
header h1 { font-size: 1.2em; margin: 0; } .who { opacity: 0.7; }
main { padding: 0.5em 1.2em; } section { margin: 1em 0; } h2 { font-size: 1.05em; margin: 0 0 0.4em; }
table { border-collapse: collapse; width: 100%; background: #fff; } th, td { text-align: left; padding: 0.3em 0.6em; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
th { font-weight: 600; background: #eef0f3; } code { font: 12px ui-monospace, monospace; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2em 1em; margin: 0; } dt { color: #59636e; }
.state.ok, .result.serving { color: #17702e; } .state.bad, .result.failed { color: #b3261e; } .state.busy { color: #8a5a00; }
.msg { color: #59636e; } .pin { background: #fff3c4; padding: 0 0.3em; }
#log-lines { height: 24em; overflow: auto; background: #111; color: #e6e6e6; font: 12px/1.35 ui-monospace, monospace; padding: 0.5em; white-space: pre-wrap; margin-top: 0.5em; }
.notice { max-width: 40em; margin: 3em auto; } .notice pre { background: #fff; padding: 0.6em; border: 1px solid #e3e6ea; }
`;
