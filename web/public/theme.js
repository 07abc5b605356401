// Sets the theme before the first paint (a classic script, so it runs before the page shows): the user's saved
// choice, else the system's (prefers-color-scheme), followed while no choice is saved. The stylesheet keys every
// colour on data-theme alone.
(function () {
  var media = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)");
  function apply() {
    var saved = null;
    try {
      saved = localStorage.getItem("cellblock.theme");
    } catch (e) {}
    var system = media && media.matches ? "dark" : "light";
    document.documentElement.dataset.theme = saved === "light" || saved === "dark" ? saved : system;
  }
  apply();
  if (media && media.addEventListener) media.addEventListener("change", apply);
})();
