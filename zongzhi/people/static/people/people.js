/* Base-data pages: changing the data category of the import/export form reloads the page for that
   category (a GET with the form's text fields; no token, no file). */
(function () {
  "use strict";
  document.querySelectorAll("select[data-reload-on-change]").forEach(function (select) {
    select.addEventListener("change", function () {
      var params = new URLSearchParams();
      Array.prototype.forEach.call(select.form.elements, function (el) {
        if (!el.name || el.name === "csrfmiddlewaretoken" || el.type === "file" || el.disabled) return;
        if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
        if (el.value !== "") params.append(el.name, el.value);
      });
      window.location.search = params.toString();
    });
  });
})();
