// The sign-in page works without JavaScript; this only moves focus to the
// error summary, when there is one, as the GOV.UK Design System advises.
const summary = document.querySelector<HTMLElement>('.govuk-error-summary');
if (summary) {
  summary.setAttribute('tabindex', '-1');
  summary.focus();
}
