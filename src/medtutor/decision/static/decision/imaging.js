// Imaging lab: show the threshold slider's value while it moves (the form still works without this file).
document.addEventListener("input", (event) => {
  const range = event.target.closest("[data-threshold-range]");
  if (!range) return;
  const output = range.form && range.form.querySelector("[data-threshold-output]");
  if (output) output.textContent = Number(range.value).toFixed(2);
});
