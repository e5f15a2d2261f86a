// js_on_load of the sources panel (gr.HTML). Gradio gives: element, trigger, props, server, upload, watch.
// A click on a source, or on a marker [n] in the chat (a link to #kutip-cite-<turn>-<n>), triggers this
// panel's "click" event with {turn, n, focus}; Python answers with the sources and the article.
element.addEventListener("click", (event) => {
  const button = event.target.closest("button.kutip-source");
  if (!button) return;
  trigger("click", { turn: Number(button.dataset.turn), n: Number(button.dataset.n), focus: true });
});

window.__kutipSelect = (turn, n) => trigger("click", { turn, n, focus: true });

if (!window.__kutipCiteListener) {
  window.__kutipCiteListener = true;
  document.addEventListener(
    "click",
    (event) => {
      const link = event.target instanceof Element ? event.target.closest("a.kutip-cite") : null;
      if (!link) return;
      const match = (link.getAttribute("href") || "").match(/^#kutip-cite-(\d+)-(\d+)$/);
      if (!match) return;
      event.preventDefault();
      event.stopPropagation();
      document.querySelectorAll("a.kutip-cite.is-selected").forEach((a) => a.classList.remove("is-selected"));
      link.classList.add("is-selected");
      window.__kutipSelect(Number(match[1]), Number(match[2]));
    },
    true,
  );
}
