// The review page: the next item, its suggestions with their definitions, keyboard decisions.
"use strict";

(() => {
  const { api, byId, element, percent } = ICCS;
  const taxonomy = JSON.parse(byId("taxonomy-data").textContent); // code -> [en, es, level]
  const REASONS = {
    low_confidence: "low confidence",
    back_off: "backed off",
    no_offence: "not an offence?",
    section_threshold: "section threshold",
    qc_sample: "quality control",
  };
  let item = null;
  let busy = false;
  let hits = [];
  let selected = 0;
  let searchTimer = null;
  let searchNumber = 0;

  function say(text, kind = "info") {
    const message = byId("message");
    message.textContent = text;
    message.className = `message ${kind}`;
  }

  function renderSuggestion(suggestion, index) {
    const li = element("li", "suggestion");
    li.dataset.code = suggestion.code;
    const head = element("div", "suggestion-head");
    const key = element("kbd", "", index + 1);
    const code = element("span", "code", suggestion.code);
    const title = element("span", "title", suggestion.title);
    const bar = element("span", "bar");
    const fill = element("span", "fill");
    fill.style.width = percent(suggestion.confidence, 0);
    bar.append(fill);
    const confidence = element("span", "confidence", percent(suggestion.confidence));
    const accept = element("button", "accept", "Accept");
    accept.type = "button";
    accept.addEventListener("click", () => decide("accept", suggestion.code));
    head.append(key, code, title, bar, confidence, accept);
    li.append(head);
    if (suggestion.path.length > 1) {
      li.append(element("div", "path", suggestion.path.map((s) => `${s.code} ${s.title}`).join(" › ")));
    }
    const lists = [["Includes", suggestion.inclusions], ["Excludes", suggestion.exclusions]].filter(
      ([, list]) => list.length,
    );
    if (suggestion.definition || lists.length) {
      // Collapsed to two lines of definition; the rest on demand (click or Enter on it).
      const about = element("details", "about");
      about.append(element("summary", "definition", suggestion.definition || "Includes, excludes"));
      for (const [label, list] of lists) {
        const block = element("div", `list ${label.toLowerCase()}`);
        block.append(element("strong", "", `${label}: `), element("span", "", list.join("; ")));
        about.append(block);
      }
      li.append(about);
    }
    return li;
  }

  function renderTags(current) {
    // One select per tag, set to the model's value; only changed tags are sent as corrections.
    const model = Object.fromEntries((current.model_tags || []).map((t) => [t.tag, t]));
    const controls = Object.entries(current.tag_values || {})
      .filter(([tag]) => model[tag])
      .map(([tag, values]) => {
        const label = element("label", "tag-control");
        const select = element("select");
        select.id = `tag-${tag}`;
        select.dataset.tag = tag;
        select.dataset.model = model[tag].value;
        for (const value of values) {
          const option = element("option", "", value.replaceAll("_", " "));
          option.value = value;
          option.selected = value === model[tag].value;
          select.append(option);
        }
        label.append(element("span", "tag-name", tag), select,
          element("span", "confidence", percent(model[tag].confidence)));
        return label;
      });
    byId("tag-controls").replaceChildren(...controls);
    byId("tags").hidden = !controls.length;
  }

  function tagCorrections() {
    const changed = {};
    for (const select of byId("tag-controls").querySelectorAll("select")) {
      if (select.value !== select.dataset.model) changed[select.dataset.tag] = select.value;
    }
    return changed;
  }

  function render(data) {
    byId("queue-pending").textContent = data.queue.pending;
    byId("queue-escalated").textContent = data.queue.escalated;
    byId("progress-today").textContent = data.progress.today;
    byId("progress-total").textContent = data.progress.total;
    item = data.item;
    byId("item").hidden = !item;
    byId("empty").hidden = Boolean(item);
    if (!item) return;
    byId("item").dataset.id = item.id;
    byId("item-text").textContent = item.text;
    byId("item-reason").textContent = REASONS[item.reason] || item.reason;
    byId("item-source").textContent = sourceName(item.source);
    byId("item-language").textContent = item.language || "";
    byId("item-double").hidden = item.required_codings < 2;
    byId("item-version").textContent = item.version;
    byId("suggestions").replaceChildren(...item.suggestions.slice(0, 3).map(renderSuggestion));
    renderGroup(item.group);
    renderTags(item);
    byId("comment").value = "";
    byId("picker-input").value = "";
    showHits([]);
    // A new item: the keyboard goes back to the shortcuts, the view to the top.
    if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
    window.scrollTo(0, 0);
  }

  function sourceName(source) {
    return source === "api" ? "API" : `batch ${source.slice(0, 8)}`;
  }

  function renderGroup(group) {
    byId("item-group").hidden = group.size < 2;
    byId("group-size").textContent = group.size.toLocaleString("en");
    const sources = group.sources.map((s) => `${sourceName(s.source)} ${s.items.toLocaleString("en")}`);
    byId("group-sources").textContent = sources.length ? `(${sources.join(", ")})` : "";
  }

  async function loadNext() {
    const data = await api("GET", "/v1/reviews/next");
    render(data);
    return data.analyst;
  }

  function remember(action, code, records) {
    const label = code ? `${code} ${(taxonomy[code] || [""])[0]}` : "";
    const times = records > 1 ? ` ×${records}` : "";
    const li = element("li", "", `${action.replaceAll("_", " ")} ${label}`.trim() + times);
    byId("recent").prepend(li);
  }

  async function decide(action, code) {
    if (!item || busy) return;
    busy = true;
    const comment = byId("comment").value.trim();
    const body = { action, version: item.version };
    if (code) body.code = code;
    if (comment) body.comment = comment;
    const tags = tagCorrections();
    if (Object.keys(tags).length && !["skip", "escalate"].includes(action)) body.tags = tags;
    try {
      const result = await api("POST", `/v1/reviews/${item.id}/decision`, body);
      remember(action, action === "not_an_offence" ? "NONE" : code, result.applied_to);
      const records = result.applied_to > 1 ? ` for ${result.applied_to} records` : "";
      const outcome =
        result.state === "decided"
          ? `Decided${records}: ${result.final_code} ${(taxonomy[result.final_code] || [""])[0]}.`
          : result.state === "escalated"
            ? `Escalated${records} to an admin.`
            : action === "skip"
              ? `Skipped${records}.`
              : `Coded${records}; waiting for the second coder.`;
      say(outcome, "ok");
      await loadNext();
    } catch (failure) {
      if (failure.status === 409) {
        say("This item changed while you looked at it; here it is as it is now.", "warn");
        await loadNext();
      } else {
        say(failure.message, "error");
      }
    } finally {
      busy = false;
    }
  }

  function showHits(list) {
    hits = list;
    selected = 0;
    const items = list.map((hit, index) => {
      const li = element("li", index === selected ? "hit selected" : "hit");
      li.setAttribute("role", "option");
      li.dataset.code = hit.code;
      const [en, es] = taxonomy[hit.code] || [hit.title, ""];
      li.append(element("span", "code", hit.code), element("span", "title", en));
      if (es && es !== en) li.append(element("span", "title-es", es));
      li.addEventListener("mousedown", (event) => {
        event.preventDefault();
        decide("recode", hit.code);
      });
      return li;
    });
    byId("picker-results").replaceChildren(...items);
  }

  function moveSelection(step) {
    if (!hits.length) return;
    selected = (selected + step + hits.length) % hits.length;
    [...byId("picker-results").children].forEach((li, index) => {
      li.classList.toggle("selected", index === selected);
    });
  }

  async function search(query) {
    const text = query.trim();
    const number = ++searchNumber;
    if (!text) return showHits([]);
    const exact = Object.keys(taxonomy).filter((code) => code === text.toUpperCase());
    try {
      const found = await api("GET", `/v1/taxonomy/search?q=${encodeURIComponent(text)}&limit=8`);
      if (number !== searchNumber) return; // a newer search is under way
      const codes = [...exact, ...found.results.map((r) => r.code)];
      showHits([...new Set(codes)].map((code) => ({ code, title: (taxonomy[code] || [code])[0] })));
    } catch (failure) {
      say(failure.message, "error");
    }
  }

  function onPickerKey(event) {
    if (event.key === "ArrowDown") moveSelection(1);
    else if (event.key === "ArrowUp") moveSelection(-1);
    else if (event.key === "Enter" && hits.length) decide("recode", hits[selected].code);
    else if (event.key === "Escape") {
      event.target.value = "";
      showHits([]);
      event.target.blur();
    } else return;
    event.preventDefault();
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || !item) return;
    const target = event.target;
    if (target.id === "picker-input") return onPickerKey(event);
    if (target.id === "comment") {
      if (event.key === "Escape" || event.key === "Enter") target.blur();
      return;
    }
    if (["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return;
    const key = event.key;
    if (["1", "2", "3"].includes(key)) {
      const suggestion = item.suggestions[Number(key) - 1];
      if (suggestion) decide("accept", suggestion.code);
    } else if (key === "/") byId("picker-input").focus();
    else if (key === "c") byId("comment").focus();
    else if (key === "n") decide("not_an_offence");
    else if (key === "s") decide("skip");
    else if (key === "e") decide("escalate");
    else return;
    event.preventDefault();
  }

  document.addEventListener("keydown", onKey);
  byId("picker-input").addEventListener("input", (event) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => search(event.target.value), 150);
  });
  for (const button of document.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => decide(button.dataset.action));
  }
  byId("reload").addEventListener("click", () => loadNext());
  ICCS.signIn(loadNext);
})();
