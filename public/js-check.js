// Parses JavaScript without running it (acorn, /vendor/acorn-8.19.0.js), so
// the JS Libraries dialog can point at a syntax error's line and column.
// Nothing here evaluates the code: the page's CSP forbids eval anyway.
// Returns "" when the code parses, else "line<TAB>column<TAB>message", and
// null while acorn has not loaded yet.
window.consoleCheckJs = function (code) {
  if (!window.acorn) return null;
  try {
    window.acorn.parse(code, { ecmaVersion: 'latest', sourceType: 'script', allowReturnOutsideFunction: true });
    return '';
  } catch (err) {
    const line = err.loc ? err.loc.line : 1;
    const column = err.loc ? err.loc.column + 1 : 1;
    // acorn's message ends with "(line:column)"; the dialog says where itself.
    return `${line}\t${column}\t${String(err.message).replace(/ \(\d+:\d+\)$/, '')}`;
  }
};
