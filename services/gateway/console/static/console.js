// The console's only script (pages work without it): copy buttons and confirmations.
"use strict";
document.addEventListener("click", async (event) => {
  const copy = event.target.closest("button[data-copy]");
  if (copy) {
    const text = document.querySelector(copy.dataset.copy).textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    copy.textContent = "Copied";
    setTimeout(() => { copy.textContent = "Copy"; }, 2000);
    return;
  }
  const asks = event.target.closest("button[data-confirm]");
  if (asks && !confirm(asks.dataset.confirm)) event.preventDefault();
});
document.addEventListener("submit", (event) => {
  const asks = event.target.dataset.confirm;
  if (asks && !confirm(asks)) event.preventDefault();
});
