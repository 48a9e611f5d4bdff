/*! glasshouse: the /optout hand-off for sites on Plausible's tracker */
// Plausible's tracker sends no credentials, so the objection cookie of
// /optout never reaches glasshouse from its requests. It does skip every
// event while localStorage.plausible_ignore is "true": this script, loaded
// before the tracker, sets or clears that flag when /optout sends the
// visitor back with #glasshouse-optout or #glasshouse-optin, and removes the
// fragment, as glasshouse's own tracker does.
((l, H) => {
  const m = l.hash.match(/&?glasshouse-opt(out|in)/);
  if (!m) return;
  try {
    if (m[1] == 'out') localStorage.setItem('plausible_ignore', 'true');
    else localStorage.removeItem('plausible_ignore');
  } catch (e) {}
  const h = l.hash.replace(m[0], '').replace('#&', '#');
  H.replaceState(H.state, '', l.pathname + l.search + (h[1] ? h : ''));
})(location, history);
