// Destructive actions ask first: a form with data-confirm="…" is submitted only once the
// dialog's Confirm button is pressed (with the button that submitted it, name and value).
(() => {
  const box = document.getElementById("ssm-confirm");
  if (!box || !window.bootstrap) return;
  const dialog = bootstrap.Modal.getOrCreateInstance(box);
  const message = box.querySelector("[data-testid=confirm-message]");
  const yes = box.querySelector("[data-testid=confirm-yes]");
  let pending = null;
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    if (form.dataset.confirmed === "1") return;
    event.preventDefault();
    pending = { form, submitter: event.submitter };
    message.textContent = form.dataset.confirm;
    yes.textContent = form.dataset.confirmLabel || "Confirm";
    dialog.show();
  });
  yes.addEventListener("click", () => {
    if (!pending) return;
    const { form, submitter } = pending;
    pending = null;
    form.dataset.confirmed = "1";
    dialog.hide();
    form.requestSubmit(submitter || undefined);
  });
})();
