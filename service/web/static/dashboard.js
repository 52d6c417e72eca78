// The dashboard: quality figures as tiles and four small SVG charts, drawn without a library.
"use strict";

(() => {
  const { api, byId, element, percent } = ICCS;
  const SVG = "http://www.w3.org/2000/svg";
  const PALETTE = 14; // colours c-0 … c-13 in style.css, by category position
  const WIDTH = 560;
  const HEIGHT = 220;
  const MARGIN = { top: 10, right: 10, bottom: 42, left: 48 };

  function svgNode(tag, attributes, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function frame(container, maxValue, labels, format) {
    const svg = svgNode("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img" });
    const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
    for (let i = 0; i <= 4; i += 1) {
      const y = MARGIN.top + plotHeight - (plotHeight * i) / 4;
      svg.append(svgNode("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y, y2: y, class: "grid" }));
      svg.append(svgNode("text", { x: MARGIN.left - 6, y: y + 4, class: "axis end" }, format((maxValue * i) / 4)));
    }
    const step = (WIDTH - MARGIN.left - MARGIN.right) / Math.max(labels.length, 1);
    const every = Math.ceil(labels.length / 8);
    labels.forEach((label, i) => {
      if (i % every !== 0) return;
      const x = MARGIN.left + step * (i + 0.5);
      svg.append(svgNode("text", { x, y: HEIGHT - MARGIN.bottom + 16, class: "axis middle" }, label));
    });
    container.replaceChildren(svg);
    return { svg, step, plotHeight };
  }

  function count(value) {
    return value >= 1000 ? `${(value / 1000).toFixed(value >= 10000 ? 0 : 1)}k` : `${Math.round(value)}`;
  }

  function stackedBars(container, labels, stacks, categories, onPick) {
    const totals = stacks.map((stack) => Object.values(stack).reduce((a, b) => a + b, 0));
    const max = Math.max(1, ...totals);
    const { svg, step, plotHeight } = frame(container, max, labels, count);
    stacks.forEach((stack, i) => {
      let base = MARGIN.top + plotHeight;
      categories.forEach((category, index) => {
        const section = category.code;
        const value = stack[section] || 0;
        if (!value) return;
        const height = (plotHeight * value) / max;
        base -= height;
        const width = Math.min(step * 0.7, 64);
        const bar = svgNode("rect", {
          x: MARGIN.left + step * (i + 0.5) - width / 2,
          y: base,
          width,
          height,
          class: `c-${index % PALETTE}${category.drillable ? " drillable" : ""}`,
        });
        const share = totals[i] ? ` (${percent(value / totals[i])} of n=${totals[i]})` : "";
        bar.append(svgNode("title", {}, `${labels[i]} · ${section} ${category.title}: ${value}${share}`));
        if (category.drillable) bar.addEventListener("click", () => onPick(section));
        svg.append(bar);
      });
    });
    if (!totals.some((t) => t > 0)) container.append(element("p", "hint", "No records yet."));
  }

  // `notes[i]` (optional) says what a point is a share of: shown on hover.
  function line(container, labels, values, max, format, notes = []) {
    const { svg, step, plotHeight } = frame(container, max, labels, format);
    const points = values
      .map((v, i) =>
        v === null ? null : [MARGIN.left + step * (i + 0.5), MARGIN.top + plotHeight - (plotHeight * v) / max, i],
      )
      .filter(Boolean);
    if (points.length) {
      svg.append(svgNode("polyline", { points: points.map((p) => p.slice(0, 2).join(",")).join(" "), class: "line" }));
      for (const [x, y, i] of points) {
        const dot = svgNode("circle", { cx: x, cy: y, r: 2.5, class: "dot" });
        dot.append(svgNode("title", {}, `${labels[i]}: ${format(values[i])}${notes[i] ? ` ${notes[i]}` : ""}`));
        svg.append(dot);
      }
    }
  }

  const shortDate = (iso) => iso.slice(5);
  const number = (n) => n.toLocaleString("en");
  const scope = { since: "", until: "", batch: "", api_key_id: "", code: "" };

  function query() {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(scope)) if (value) params.set(name, value);
    return params.toString();
  }

  function tile(name, value, n) {
    byId(`tile-${name}`).textContent = value;
    byId(`tile-${name}-n`).textContent = n;
  }

  function fillSelect(select, options, chosen) {
    const first = select.options[0];
    select.replaceChildren(first, ...options.map(([value, label]) => {
      const option = element("option", "", label);
      option.value = value;
      option.selected = value === chosen;
      return option;
    }));
  }

  function drill(code) {
    scope.code = code;
    load().catch((failure) => {
      byId("generated").textContent = failure.message;
    });
  }

  function renderCrumbs(board) {
    const crumbs = [["", "All sections"], ...board.path.map((p) => [p.code, `${p.code} ${p.title}`])];
    byId("crumbs").replaceChildren(...crumbs.map(([code, label], i) => {
      if (i === crumbs.length - 1) return element("strong", "", label);
      const link = element("button", "link", label);
      link.type = "button";
      link.addEventListener("click", () => drill(code));
      return link;
    }));
  }

  function renderLegend(categories) {
    byId("legend").replaceChildren(...categories.map((category, index) => {
      const li = element("li", category.drillable ? "drillable" : "");
      li.append(element("span", `swatch c-${index % PALETTE}`), `${category.code} ${category.title}`);
      li.dataset.code = category.code;
      if (category.drillable) li.addEventListener("click", () => drill(category.code));
      return li;
    }));
  }

  function renderAgreement(agreement) {
    const rows = agreement.by_category.map((c) => {
      const tr = element("tr");
      for (const value of [c.code, c.title, number(c.n), number(c.texts), percent(c.exact_agreement), percent(c.category_agreement)]) {
        tr.append(element("td", "", value));
      }
      return tr;
    });
    if (!rows.length) {
      const tr = element("tr");
      const td = element("td", "hint", "No item decided in view yet.");
      td.colSpan = 6;
      tr.append(td);
      rows.push(tr);
    }
    byId("agreement-table").tBodies[0].replaceChildren(...rows);
  }

  async function download(table) {
    const response = await fetch(`/v1/reviews/dashboard/${table}.csv?${query()}`, { headers: ICCS.authorization() });
    if (!response.ok) return;
    const disposition = response.headers.get("content-disposition") || "";
    const name = (disposition.match(/filename="([^"]+)"/) || [null, `${table}.csv`])[1];
    const link = element("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  function correspondences(schemes) {
    byId("correspondences").hidden = schemes.length === 0;
    byId("correspondence-rows").replaceChildren(
      ...schemes.map((s) => {
        const row = element("tr");
        const bar = element("progress");
        bar.max = s.total;
        bar.value = s.validated;
        const share = `${s.validated} / ${s.total} (${percent(s.share_validated, 0)})`;
        const cells = [element("th", "", s.scheme), element("td"), element("td", "", share)];
        cells[1].append(bar);
        row.append(...cells);
        return row;
      }),
    );
  }

  async function load() {
    const [board, stats, tables] = await Promise.all([
      api("GET", `/v1/reviews/dashboard?${query()}`),
      api("GET", "/v1/reviews/stats"),
      api("GET", "/v1/correspondences"),
    ]);
    correspondences(tables.schemes);
    const categories = board.categories;
    scope.since = board.scope.since;
    scope.until = board.scope.until;
    byId("scope-since").value = board.scope.since;
    byId("scope-until").value = board.scope.until;
    fillSelect(byId("scope-batch"), board.choices.batches.map((b) => [b.batch, b.label]), scope.batch);
    fillSelect(byId("scope-key"), board.choices.submitters.map((s) => [String(s.api_key_id), s.name]), scope.api_key_id);
    renderCrumbs(board);
    renderLegend(categories);

    const summary = board.summary;
    tile("autocoding", percent(summary.autocoding_rate), `n=${number(summary.records)} records`);
    const qc = stats.quality_control;
    tile(
      "precision",
      qc.precision === null ? "–" : `${percent(qc.precision)} (${percent(qc.precision_ci95[0], 0)}–${percent(qc.precision_ci95[1], 0)})`,
      `n=${number(qc.reviewed)} reviewed`,
    );
    const agreement = board.agreement;
    tile("agreement", percent(agreement.exact_agreement), `n=${number(agreement.n)} items, ${number(agreement.texts)} texts`);
    const kappa = stats.double_coding.kappa;
    tile("kappa", kappa === null ? "–" : kappa.toFixed(2), `n=${number(stats.double_coding.pairs)} pairs`);
    tile("backlog", stats.queue.size, `${number(stats.queue.texts)} distinct texts`);
    tile("throughput", stats.throughput.decided_last_24h, "items");

    stackedBars(
      byId("chart-batches"),
      board.by_batch.map((b) => (b.label.length > 14 ? `${b.label.slice(0, 13)}…` : b.label)),
      board.by_batch.map((b) => b.categories),
      categories,
      drill,
    );
    const days = board.by_day.map((d) => shortDate(d.date));
    stackedBars(byId("chart-days"), days, board.by_day.map((d) => d.categories), categories, drill);
    const backlog = board.backlog.map((d) => d.open);
    line(byId("chart-backlog"), days, backlog, Math.max(1, ...backlog), count);
    line(
      byId("chart-autocoding"),
      days,
      board.autocoding.map((d) => d.rate),
      1,
      (v) => percent(v, 0),
      board.autocoding.map((d) => `(${number(d.auto_coded)} of n=${number(d.records)})`),
    );
    renderAgreement(agreement);
    await ICCSCounts.load();
    byId("generated").textContent = `Figures as of ${board.generated_at.slice(0, 19).replace("T", " ")} UTC`;
    return (await api("GET", "/v1/reviews/next")).analyst;
  }

  byId("scope-form").addEventListener("submit", (event) => {
    event.preventDefault();
    scope.since = byId("scope-since").value;
    scope.until = byId("scope-until").value;
    scope.batch = byId("scope-batch").value;
    scope.api_key_id = byId("scope-key").value;
    load().catch((failure) => {
      byId("generated").textContent = failure.message;
    });
  });
  for (const button of document.querySelectorAll("button.csv")) {
    button.addEventListener("click", () => download(button.dataset.table));
  }

  ICCS.signIn(load);
})();
