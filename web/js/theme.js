/*
 * The colour scheme chosen in Settings, applied before the first paint (a classic script,
 * so the page never flashes light when the user picked dark). "system" follows the OS.
 */
(function applyTheme() {
  try {
    var theme = localStorage.getItem("grapevine-theme");
    if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  } catch (error) {
    // storage unavailable (private mode): the system's scheme applies
  }
})();
