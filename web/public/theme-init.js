// Applies the saved theme before first paint so a dark-theme user never sees a white flash.
// A file, not an inline <script>: the gateway's Content-Security-Policy allows scripts from
// itself only (script-src 'self'), so an inline one would be blocked.
(function () {
  try {
    var t = JSON.parse(localStorage.getItem('agentyard.preferences') || '{}').theme || 'system';
    var dark = t === 'dark' || (t === 'system' && matchMedia('(prefers-color-scheme: dark)').matches);
    document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  } catch {
    document.documentElement.dataset.theme = 'light';
  }
})();
