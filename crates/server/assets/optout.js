// The glasshouse opt-out page. Everything happens in this browser: the choice
// is kept in a cookie on this (the analytics) host, which the collector reads
// on later events, and in localStorage for showing the state here. Nothing is
// sent anywhere when the button is pressed.
(function () {
  'use strict';

  var KEY = 'glasshouse_optout';
  var FIVE_YEARS = 5 * 365 * 24 * 60 * 60;

  function byId(id) {
    return document.getElementById(id);
  }

  function storage(action) {
    try {
      var s = window.localStorage;
      if (action === 'get') return s.getItem(KEY);
      if (action === 'set') s.setItem(KEY, '1');
      if (action === 'clear') s.removeItem(KEY);
    } catch (e) {
      // Storage may be blocked; the cookie is what matters to the collector.
    }
    return null;
  }

  function hasCookie() {
    return /(?:^|;\s*)glasshouse_optout=1(?:;|$)/.test(document.cookie);
  }

  function setCookie(on) {
    var secure = location.protocol === 'https:';
    var attrs = '; path=/' + (secure ? '; SameSite=None; Secure' : '; SameSite=Lax');
    document.cookie = KEY + (on ? '=1; max-age=' + FIVE_YEARS : '=; max-age=0') + attrs;
  }

  function optedOut() {
    return hasCookie() || storage('get') === '1';
  }

  // The site the visitor came from, if it was given as ?return= and is an
  // http(s) URL. Anything else (javascript:, data:, garbage) is ignored.
  function returnUrl() {
    var raw;
    try {
      raw = new URLSearchParams(location.search).get('return');
      if (!raw) return null;
      var url = new URL(raw);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
      return url;
    } catch (e) {
      return null;
    }
  }

  var back = returnUrl();

  function showReturn(marker) {
    if (!back) return;
    var url = new URL(back.href);
    url.hash = marker || '';
    var link = byId('return-link');
    link.href = url.href;
    // textContent, never innerHTML: the host comes from the address bar.
    byId('return-host').textContent = url.host;
    byId('return').hidden = false;
    byId('return-note').hidden = false;
  }

  function render(state, moveFocus) {
    var out = state === 'out';
    byId('opted-out').hidden = !out;
    byId('counting').hidden = out;
    byId('opted-in-message').hidden = state !== 'in';
    byId('counting-now').hidden = state === 'in';
    byId('cookie-blocked').hidden = true;
    showReturn(out ? 'glasshouse-optout' : state === 'in' ? 'glasshouse-optin' : '');
    if (moveFocus) {
      (out ? byId('opted-out-panel') : byId('opted-in-message')).focus();
    }
  }

  function init() {
    byId('optout-button').addEventListener('click', function () {
      setCookie(true);
      storage('set');
      if (!hasCookie()) {
        // Cookies are blocked: the collector would never see the choice.
        storage('clear');
        byId('cookie-blocked').hidden = false;
        byId('cookie-blocked').focus();
        return;
      }
      render('out', true);
    });
    byId('optin-button').addEventListener('click', function () {
      setCookie(false);
      storage('clear');
      render('in', true);
    });
    if (optedOut()) {
      // Browsers cap a cookie's life (Chromium at 400 days): renew it on each visit.
      setCookie(true);
      storage('set');
      render('out', false);
    } else {
      render('counting', false);
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
