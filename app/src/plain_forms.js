// Sends the forms of the pages before signing in without leaving the page;
// see `PLAIN_FORMS` in lib.rs.
(() => {
  // One field's error, as `until_edited` in form.rs drops it once edited.
  const clearField = (input) => {
    if (!input.hasAttribute('aria-invalid')) return;
    input.removeAttribute('aria-invalid');
    const slot = document.getElementById(input.id + '-error');
    if (slot) slot.textContent = '';
    input.closest('.field')?.classList.remove('invalid');
    const hint = document.getElementById(input.id + '-hint');
    if (hint) input.setAttribute('aria-describedby', hint.id);
    else input.removeAttribute('aria-describedby');
  };

  const clear = (form) => {
    for (const input of form.querySelectorAll('[aria-invalid]')) clearField(input);
    const status = form.querySelector('.form-status');
    if (status) status.replaceChildren();
  };

  // Above the form, as the app shows it: the first such message only.
  const showAbove = (form, message) => {
    const status = form.querySelector('.form-status');
    if (status && !status.hasChildNodes()) {
      const alert = document.createElement('p');
      alert.className = 'alert error';
      alert.textContent = message;
      status.append(alert);
    }
  };

  const showBesideFields = (form, errors) => {
    for (const { field, message } of errors) {
      const input = form.elements.namedItem(field);
      const slot = input && input.id && document.getElementById(input.id + '-error');
      if (!slot) {
        showAbove(form, message);
        continue;
      }
      slot.textContent = message;
      slot.closest('.field')?.classList.add('invalid');
      input.setAttribute('aria-invalid', 'true');
      const hint = document.getElementById(input.id + '-hint');
      input.setAttribute('aria-describedby', hint ? `${hint.id} ${slot.id}` : slot.id);
    }
    // The first field to mend, in the order the form shows them.
    form.querySelector('[aria-invalid="true"]')?.focus();
  };

  // The URL the server redirects a plain post's failure to (server_fn's
  // `ServerFnUrlError`: the function's path and the error, base64url-encoded).
  const errorPage = (action, body) => {
    let binary = '';
    for (const byte of new TextEncoder().encode(body)) binary += String.fromCharCode(byte);
    const url = new URL(window.location.href);
    url.searchParams.delete('__path');
    url.searchParams.delete('__err');
    url.searchParams.append('__path', new URL(action).pathname);
    url.searchParams.append('__err', btoa(binary).replaceAll('+', '-').replaceAll('/', '_'));
    return url;
  };

  for (const form of document.querySelectorAll('form[action^="/fn/"]')) {
    form.addEventListener('input', (event) => clearField(event.target));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const button = form.querySelector('button[type="submit"]');
      if (button) button.disabled = true;
      clear(form);
      // The form is never sent twice: a reply that is lost or not the
      // app's (a timeout, a refusal before the function ran) may still have
      // done its work, so it is reported, and sending again is the visitor's
      // choice (the wording of `AppError::Transport` and `Internal`).
      // The button, disabled while the form was out, dropped the focus to
      // the page's body: it gets it back beside what is said, unless the
      // visitor has moved on meanwhile.
      const failed = (message) => {
        showAbove(form, message);
        if (button) {
          button.disabled = false;
          if (document.activeElement === document.body || !document.activeElement) button.focus();
        }
      };
      let reply;
      try {
        reply = await fetch(form.action, {
          method: 'POST',
          headers: { Accept: 'application/json' },
          body: new URLSearchParams(new FormData(form)),
        });
      } catch {
        failed('Could not reach the server. Please try again.');
        return;
      }
      if (reply.ok) {
        window.location.assign(reply.headers.get('location') ?? window.location.href);
        return;
      }
      const body = await reply.text();
      let error;
      try {
        error = JSON.parse(body);
      } catch {
        failed('Something went wrong on our side. Please try again.');
        return;
      }
      // A refusal with its own sentence (a limit, a disabled user, a state)
      // is shown above the form, whose fields keep what was typed.
      const sentence = ['Forbidden', 'TooManyRequests', 'Conflict']
        .map((kind) => error?.[kind])
        .find((text) => typeof text === 'string');
      if (Array.isArray(error?.Invalid)) {
        showBesideFields(form, error.Invalid);
        if (button) button.disabled = false;
        // A refusal of no field the visitor can mend (the link's hidden
        // token: used or expired since the page loaded) is said above the
        // form; the focus goes there, not left on the page's body.
        if (document.activeElement === document.body || !document.activeElement) {
          const said = form.querySelector('.form-status .alert');
          if (said) {
            said.tabIndex = -1;
            said.focus();
          } else if (button) button.focus();
        }
      } else if (sentence) {
        failed(sentence);
      } else {
        window.location.assign(errorPage(form.action, body));
      }
    });
  }
  // "Forgot password?" takes along the address typed so far, which the
  // page it opens fills in.
  for (const link of document.querySelectorAll('a[href="/forgot-password"]')) {
    link.addEventListener('click', () => {
      const typed = document.querySelector('input[name="email"]')?.value.trim();
      if (typed) link.href = '/forgot-password?email=' + encodeURIComponent(typed);
    });
  }
  // An error the server rendered from the URL (`__err`) is shown; the URL
  // loses it, so that reloading the page shows the form afresh.
  const shown = new URL(window.location.href);
  if (shown.searchParams.has('__err')) {
    shown.searchParams.delete('__path');
    shown.searchParams.delete('__err');
    window.history.replaceState(null, '', shown);
  }
  // Tells the browser tests that the forms are now sent by this script.
  document.body.dataset.ready = 'true';
})();
