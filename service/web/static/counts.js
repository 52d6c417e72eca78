// The dashboard's counts table: records by ICCS section or division crossed with the tags,
// from GET /v1/reports/counts, and the same table as CSV for download.
"use strict";

const ICCSCounts = (() => {
  const { api, authorization, byId, element, percent } = ICCS;
  // The columns shown; the CSV has every value of every tag.
  const COLUMNS = [
    ["cyber", "cyber_dependent", "cyber-dependent"],
    ["cyber", "cyber_enabled", "cyber-enabled"],
    ["attempt", "attempted", "attempted"],
    ["weapon", "firearm", "firearm"],
    ["weapon", "knife_or_sharp", "knife"],
    ["weapon", "other_weapon", "other weapon"],
    ["context", "intimate_partner_or_family", "partner or family"],
  ];

  function query(format) {
    const params = new URLSearchParams({ group_by: byId("counts-group").value, format });
    const batch = byId("counts-batch").value.trim();
    if (batch) params.set("batch", batch);
    if (byId("counts-from").value) params.set("from", `${byId("counts-from").value}T00:00:00`);
    if (byId("counts-to").value) params.set("to", `${byId("counts-to").value}T00:00:00`);
    return `/v1/reports/counts?${params}`;
  }

  function cell(text, className = "num") {
    return element("td", className, text);
  }

  function renderRow(row, isTotal) {
    const tr = element("tr", isTotal ? "total" : "");
    const find = (tag, value) => ((row.tags[tag] || []).find((c) => c.value === value) || { count: 0 }).count;
    tr.append(cell(row.code, "code"), cell(row.title, "title"), cell(row.records));
    for (const [tag, value] of COLUMNS) tr.append(cell(find(tag, value)));
    tr.append(cell(percent(row.cyber_related_share)));
    return tr;
  }

  async function load() {
    const report = await api("GET", query("json"));
    const rows = report.rows.map((row) => renderRow(row, false));
    if (report.rows.length) rows.push(renderRow(report.total, true));
    byId("counts-body").replaceChildren(...rows);
    byId("counts-empty").hidden = report.rows.length > 0;
  }

  async function download() {
    const response = await fetch(query("csv"), { headers: authorization() });
    if (!response.ok) return;
    const link = element("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = "iccs-counts.csv";
    link.click();
    URL.revokeObjectURL(link.href);
  }

  byId("counts-form").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  byId("counts-csv").addEventListener("click", (event) => {
    event.preventDefault();
    download();
  });
  return { load };
})();
