// Updates the outcome form's one-sentence preview as the person types. The server renders
// the same sentence on every submit; without JavaScript the form works the same.
(function () {
  "use strict";
  var form = document.getElementById("outcome-form");
  var out = document.getElementById("outcome-sentence");
  if (!form || !out) return;
  var months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function field(name) { var el = form.elements[name]; return el ? el.value.trim() : ""; }
  function number(text) { text = text.replace(/%$/, "").trim(); return /^-?\d+(\.\d+)?$/.test(text) ? text.replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "") : null; }
  function withUnit(value) {
    var unit = field("unit"), label = field("unit_label");
    if (unit === "percent") return value + "%";
    return label ? value + " " + label : value;
  }
  function date(text) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
    return m ? parseInt(m[3], 10) + " " + months[parseInt(m[2], 10) - 1] + " " + m[1] : null;
  }
  function update() {
    var metric = field("metric"), baseline = number(field("baseline")), by = date(field("measure_by"));
    if (!metric || baseline === null || !by) return;
    var text;
    if (field("direction") === "stay_within") {
      var lower = number(field("band_lower")), upper = number(field("band_upper"));
      if (lower === null || upper === null) return;
      text = metric + " stays within " + withUnit(lower) + " to " + withUnit(upper) + " by " + by;
    } else {
      var target = number(field("target"));
      if (target === null) return;
      text = metric + " from " + withUnit(baseline) + " to " + withUnit(target) + " by " + by;
    }
    out.textContent = text;
  }
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
