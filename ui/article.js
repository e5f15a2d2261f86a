// js_on_load of the article panel (gr.HTML): scroll the current cited sentence into view.
// After an answer only the panel's own scroll box moves; after a user's click (data-focus="1") the
// page scrolls too when the sentence is off screen, so on a phone the article below the chat comes into view.
const show = () => {
  const box = element.querySelector(".kutip-article-body");
  const mark = element.querySelector("mark.kutip-current");
  if (!box || !mark) return;
  const offset = mark.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
  box.scrollTo({ top: Math.max(0, offset - box.clientHeight / 3), behavior: "instant" });
  const article = element.querySelector(".kutip-article");
  const rect = mark.getBoundingClientRect();
  if (article && article.dataset.focus === "1" && (rect.top < 0 || rect.bottom > window.innerHeight)) {
    mark.scrollIntoView({ block: "center", inline: "nearest", behavior: "instant" });
  }
};
watch("value", () => requestAnimationFrame(show));
requestAnimationFrame(show);
