// Copy buttons: <button data-copy="text">; no inline script (the CSP forbids it).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var text = button.getAttribute("data-copy");
  var done = function () {
    button.textContent = "Copied";
    button.setAttribute("data-copied", "true");
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, done);
  } else {
    var area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* best effort */ }
    document.body.removeChild(area);
    done();
  }
});
