// Small glue for HTMX + Bootstrap. Third-party code comes from static/vendor (npm).
document.addEventListener("htmx:afterSwap", function (event) {
  // Re-initialise tooltips inside swapped fragments.
  if (window.bootstrap) {
    event.target.querySelectorAll('[data-bs-toggle="tooltip"]').forEach(function (el) {
      window.bootstrap.Tooltip.getOrCreateInstance(el);
    });
  }
});
document.addEventListener("htmx:responseError", function () {
  alert("操作失败，请稍后重试。");
});
