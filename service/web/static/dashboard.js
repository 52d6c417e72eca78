// The dashboard: quality figures as tiles and four small SVG charts, drawn without a library.
"use strict";

(() => {
  const { api, byId, element, percent } = ICCS;
  const SVG = "http://www.w3.org/2000/svg";
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

  function stackedBars(container, labels, stacks, sections) {
    const totals = stacks.map((stack) => Object.values(stack).reduce((a, b) => a + b, 0));
    const max = Math.max(1, ...totals);
    const { svg, step, plotHeight } = frame(container, max, labels, count);
    stacks.forEach((stack, i) => {
      let base = MARGIN.top + plotHeight;
      for (const section of sections) {
        const value = stack[section] || 0;
        if (!value) continue;
        const height = (plotHeight * value) / max;
        base -= height;
        const width = Math.min(step * 0.7, 64);
        const bar = svgNode("rect", {
          x: MARGIN.left + step * (i + 0.5) - width / 2,
          y: base,
          width,
          height,
          class: `s-${section}`,
        });
        bar.append(svgNode("title", {}, `${labels[i]} · ${section}: ${value}`));
        svg.append(bar);
      }
    });
    if (!totals.some((t) => t > 0)) container.append(element("p", "hint", "No records yet."));
  }

  function line(container, labels, values, max, format) {
    const { svg, step, plotHeight } = frame(container, max, labels, format);
    const points = values
      .map((v, i) => (v === null ? null : [MARGIN.left + step * (i + 0.5), MARGIN.top + plotHeight - (plotHeight * v) / max]))
      .filter(Boolean);
    if (points.length) {
      svg.append(svgNode("polyline", { points: points.map((p) => p.join(",")).join(" "), class: "line" }));
      for (const [x, y] of points) svg.append(svgNode("circle", { cx: x, cy: y, r: 2.5, class: "dot" }));
    }
  }

  const shortDate = (iso) => iso.slice(5);

  async function load() {
    const [board, stats] = await Promise.all([
      api("GET", "/v1/reviews/dashboard"),
      api("GET", "/v1/reviews/stats"),
    ]);
    const sections = board.sections.map((s) => s.code);
    const qc = stats.quality_control;
    byId("tile-autocoding").textContent = percent(stats.autocoding.autocoding_rate);
    byId("tile-precision").textContent =
      qc.precision === null
        ? "–"
        : `${percent(qc.precision)} (${percent(qc.precision_ci95[0], 0)}–${percent(qc.precision_ci95[1], 0)}, n=${qc.reviewed})`;
    byId("tile-agreement").textContent = percent(stats.model_analyst_agreement.exact_agreement);
    const kappa = stats.double_coding.kappa;
    byId("tile-kappa").textContent =
      kappa === null ? "–" : `${kappa.toFixed(2)} (n=${stats.double_coding.pairs})`;
    byId("tile-backlog").textContent = stats.queue.size;
    byId("tile-throughput").textContent = stats.throughput.decided_last_24h;

    stackedBars(
      byId("chart-batches"),
      board.by_batch.map((b) => (b.label.length > 14 ? `${b.label.slice(0, 13)}…` : b.label)),
      board.by_batch.map((b) => b.sections),
      sections,
    );
    const days = board.by_day.map((d) => shortDate(d.date));
    stackedBars(byId("chart-days"), days, board.by_day.map((d) => d.sections), sections);
    const backlog = board.backlog.map((d) => d.open);
    line(byId("chart-backlog"), days, backlog, Math.max(1, ...backlog), count);
    line(byId("chart-autocoding"), days, board.autocoding.map((d) => d.rate), 1, (v) => percent(v, 0));
    await ICCSCounts.load();
    byId("generated").textContent = `Figures as of ${board.generated_at.slice(0, 19).replace("T", " ")} UTC`;
    return (await api("GET", "/v1/reviews/next")).analyst;
  }

  ICCS.signIn(load);
})();
