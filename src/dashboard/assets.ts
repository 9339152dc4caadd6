/**
 * The dashboard's only script and stylesheet, served by the ship itself (no CDN, no build step). The script keeps the
 * session id in sessionStorage (this origin's only) and sends it as a Bearer header; it writes log lines and names
 * with textContent, so nothing a service logs becomes markup; the overview it swaps in is server-escaped.
 */
export const APP_JS = `'use strict';
(function () {
  var KEY = 'starphleet-dashboard-session';
  var select = document.getElementById('log-service');
  var pane = document.getElementById('log-lines');
  var state = document.getElementById('log-state');
  var following = null;
  var timer = null;
  function auth() { return { authorization: 'Bearer ' + (sessionStorage.getItem(KEY) || '') }; }
  function door(title, text) {
    if (following) following.abort();
    if (timer) clearInterval(timer);
    sessionStorage.removeItem(KEY);
    document.getElementById('overview').textContent = '';
    document.getElementById('logs').hidden = true;
    document.getElementById('door-title').textContent = title;
    document.getElementById('door-text').textContent = text;
    document.getElementById('door').hidden = false;
  }
  function loggedOut() { door('Not logged in', 'The dashboard is for admirals. Get a one-time login link on the ship:'); }
  function append(text) {
    var line = document.createElement('div');
    line.className = 'line';
    line.textContent = text;
    pane.appendChild(line);
    while (pane.childNodes.length > 2000) pane.removeChild(pane.firstChild);
    pane.scrollTop = pane.scrollHeight;
  }
  function event(block) {
    var kind = 'message';
    var data = [];
    block.split('\\n').forEach(function (l) {
      if (l.indexOf('event: ') === 0) kind = l.slice(7);
      else if (l.indexOf('data: ') === 0) data.push(l.slice(6));
    });
    if (kind === 'logout') return loggedOut();
    if (data.length > 0) append(data.join('\\n'));
  }
  function follow(name) {
    if (following) following.abort();
    following = null;
    pane.textContent = '';
    state.textContent = '';
    if (!name) return;
    var mine = new AbortController();
    following = mine;
    fetch('/api/logs/' + encodeURIComponent(name), { headers: auth(), cache: 'no-store', credentials: 'omit', signal: mine.signal })
      .then(function (r) {
        if (r.status === 401) return loggedOut();
        if (!r.ok || !r.body) { state.textContent = 'no log (' + r.status + ')'; return; }
        state.textContent = 'following ' + name;
        var reader = r.body.getReader();
        var decoder = new TextDecoder();
        var buf = '';
        function pump() {
          return reader.read().then(function (x) {
            if (x.done) { if (following === mine) state.textContent = 'stopped'; return; }
            buf += decoder.decode(x.value, { stream: true });
            var i;
            while ((i = buf.indexOf('\\n\\n')) >= 0) { event(buf.slice(0, i)); buf = buf.slice(i + 2); }
            return pump();
          });
        }
        return pump();
      })
      .catch(function () { if (following === mine) state.textContent = 'stopped'; });
  }
  function services(names) {
    var have = Array.prototype.map.call(select.options, function (o) { return o.value; });
    if (have.join('\\n') === names.join('\\n')) return false;
    var wanted = new URLSearchParams(location.search).get('service');
    var pick = select.value || (names.indexOf(wanted) >= 0 ? wanted : names[0] || '');
    select.textContent = '';
    names.forEach(function (n) {
      var o = document.createElement('option');
      o.value = n;
      o.textContent = n;
      if (n === pick) o.selected = true;
      select.appendChild(o);
    });
    return true;
  }
  function refresh(first) {
    return fetch('/api/overview', { headers: auth(), cache: 'no-store', credentials: 'omit' })
      .then(function (r) {
        if (r.status === 401) { loggedOut(); return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (v) {
        if (!v) return;
        document.getElementById('ship-name').textContent = v.ship;
        document.getElementById('who').textContent = v.user;
        document.getElementById('overview').innerHTML = v.overview;
        document.getElementById('logs').hidden = false;
        if (services(v.services) || first) follow(select.value);
      })
      .catch(function () {});
  }
  function start() {
    refresh(true);
    timer = setInterval(function () { refresh(false); }, 5000);
  }
  select.addEventListener('change', function () {
    history.replaceState(null, '', '?service=' + encodeURIComponent(select.value));
    follow(select.value);
  });
  var link = /^#login=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (link) {
    // The token leaves the address bar and the history before anything else happens.
    history.replaceState(null, '', location.pathname + location.search);
    fetch('/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: link[1] }), credentials: 'omit', cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (v) {
        if (!v) return door('This login link does not work', 'A login link works once, for a short time. Get a new one on the ship:');
        sessionStorage.setItem(KEY, v.session);
        start();
      })
      .catch(function () { door('The ship did not answer', 'Try again, or get a new link on the ship:'); });
  } else if (sessionStorage.getItem(KEY)) start();
  else loggedOut();
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
