// The console's page is drawn seconds before its code has loaded on a slow
// connection, and a click on a button that opens a dialog or sends
// something did nothing in that time. The last such click is kept (the
// button says it is busy) and made again once the page is ready
// (`data-ready` on the body, set by the wasm after hydrating). Links and
// forms with an action need no help: they work without the code. A form
// without one is the code's alone: sent before, it would only reload the
// page, so its button is kept as the others are; so is one whose answer is
// a secret only the code can show (`data-needs-code`: a new developer key,
// recovery codes), which the server refuses as a plain post.
(() => {
  let early = null;
  addEventListener('click', (event) => {
    if (document.body && document.body.dataset.ready) return;
    const target = event.target instanceof Element ? event.target : null;
    const button = target &&
      target.closest('button[type=button], form:not([action]) button[type=submit], ' +
        'form[data-needs-code] button[type=submit]');
    if (!button || button.disabled) return;
    if (button.type === 'submit') event.preventDefault();
    if (early) early.removeAttribute('aria-busy');
    early = button;
    button.setAttribute('aria-busy', 'true');
  }, true);
  new MutationObserver((_, watching) => {
    if (!document.body || !document.body.dataset.ready) return;
    watching.disconnect();
    const button = early;
    early = null;
    if (button && button.isConnected) {
      button.removeAttribute('aria-busy');
      button.click();
    }
  }).observe(document.documentElement, { subtree: true, attributes: true, attributeFilter: ['data-ready'] });
})();
