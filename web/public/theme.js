// Applies the saved theme before the first paint (a classic script, so it runs before the page shows).
try {
  var t = localStorage.getItem("cellblock.theme");
  if (t === "light" || t === "dark") document.documentElement.dataset.theme = t;
} catch (e) {}
