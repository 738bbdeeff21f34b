// The High Availability widget when its live part gets no answer: while no node holds the
// VIP (no active server, or a failover under way) the page says so and offers each node's
// own address, where a node explains why (the "No active server" page).
(function () {
  const banner = document.getElementById("ha-unreachable");
  if (!banner) return;
  const live = (event) => event.detail.elt && event.detail.elt.id === "ha-live";
  const show = (event) => { if (live(event)) banner.classList.remove("d-none"); };
  document.body.addEventListener("htmx:sendError", show);
  document.body.addEventListener("htmx:timeout", show);
  document.body.addEventListener("htmx:responseError", show);
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "ha-live") banner.classList.add("d-none");
  });
})();
