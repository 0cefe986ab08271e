/* Control panel page: a small hash-routed app over the JSON API (/api/, docs/panel.md).
 * Every value from the server is put in the page as text (textContent), never as HTML. */
"use strict";

var session = null;

function el(tag, attrs) {
  var node = document.createElement(tag);
  var a = attrs || {};
  Object.keys(a).forEach(function (k) {
    if (k === "text") node.textContent = a[k];
    else if (k === "onclick") node.addEventListener("click", a[k]);
    else if (k === "onsubmit") node.addEventListener("submit", a[k]);
    else if (k === "onchange") node.addEventListener("change", a[k]);
    else if (a[k] !== null && a[k] !== undefined && a[k] !== false) node.setAttribute(k, a[k]);
  });
  for (var i = 2; i < arguments.length; i++) add(node, arguments[i]);
  return node;
}

function add(node, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) { child.forEach(function (c) { add(node, c); }); return; }
  node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
}

function show(node) {
  var app = document.getElementById("app");
  app.textContent = "";
  add(app, node);
}

function flash(text, kind) {
  var f = document.getElementById("flash");
  f.textContent = text || "";
  f.className = "flash " + (kind || "ok");
  f.hidden = !text;
}

function api(method, path, body) {
  var opts = { method: method, credentials: "same-origin", headers: {} };
  if (method !== "GET") {
    opts.headers["X-CSRF-Token"] = session ? session.csrf : "";
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body || {});
  }
  return fetch(path, opts).then(function (r) {
    return r.text().then(function (t) {
      var data = null;
      try { data = t ? JSON.parse(t) : null; } catch (e) { data = { error: t }; }
      if (r.status === 401 && path !== "/api/login") {
        session = null;
        location.hash = "#/login";
      }
      if (!r.ok) {
        var err = new Error((data && data.error) || ("HTTP " + r.status));
        err.status = r.status;
        throw err;
      }
      return data;
    });
  });
}

function badge(state) {
  return el("span", { "class": "badge " + state, "data-testid": "state", text: state.replace("_", " ") });
}

/* rows: row elements, or a tbody filled later (never nested in another tbody: the columns
 * would no longer line up with the headers) */
function table(headers, rows, testid) {
  return el("div", { "class": "scroll" },
    el("table", { "data-testid": testid },
      el("thead", null, el("tr", null, headers.map(function (h) { return el("th", { text: h }); }))),
      rows && rows.tagName === "TBODY" ? rows : el("tbody", null, rows)));
}

function td(v, cls) { return el("td", { "class": cls || null }, v === null || v === undefined ? "" : v); }

function enc(s) { return encodeURIComponent(s); }

/* ---- texts of the account pages: Dutch first, English when the browser asks for it ---- */

var LANG = /^en\b/i.test(navigator.language || "") ? "en" : "nl";
var STRINGS = {
  nl: {
    forgot_link: "Wachtwoord vergeten?", forgot_title: "Wachtwoord vergeten",
    forgot_who: "Gebruikersnaam of e-mailadres", forgot_send: "Stuur een link",
    set_invite: "Kies uw wachtwoord", set_reset: "Nieuw wachtwoord",
    new_pw: "Nieuw wachtwoord (minstens 10 tekens)", repeat_pw: "Herhaal het nieuwe wachtwoord",
    current_pw: "Huidig wachtwoord", save_pw: "Wachtwoord opslaan",
    mismatch: "De twee wachtwoorden zijn niet gelijk.",
    pw_set: "Uw wachtwoord is ingesteld. U kunt nu inloggen.", to_login: "Naar inloggen",
    account: "Mijn account", change_pw: "Wachtwoord wijzigen",
    changed: "Uw wachtwoord is gewijzigd; andere sessies zijn beëindigd.",
    users: "Gebruikers", invite: "Gebruiker uitnodigen", name: "Gebruikersnaam",
    email: "E-mailadres", role: "Rol", tenant: "Winkel", owner: "Winkeleigenaar",
    operator: "Beheerder", invite_send: "Uitnodiging versturen",
    invited: "Uitnodiging verstuurd naar ", active: "Actief", pending: "Uitgenodigd",
    last_login: "Laatst ingelogd", state: "Status", back: "Terug"
  },
  en: {
    forgot_link: "Forgot your password?", forgot_title: "Forgotten password",
    forgot_who: "User name or e-mail address", forgot_send: "Send a link",
    set_invite: "Choose your password", set_reset: "New password",
    new_pw: "New password (at least 10 characters)", repeat_pw: "Repeat the new password",
    current_pw: "Current password", save_pw: "Save password",
    mismatch: "The two passwords differ.",
    pw_set: "Your password is set. You can sign in now.", to_login: "Sign in",
    account: "My account", change_pw: "Change password",
    changed: "Your password is changed; other sessions have ended.",
    users: "Users", invite: "Invite a user", name: "User name", email: "E-mail address",
    role: "Role", tenant: "Shop", owner: "Shop owner", operator: "Operator",
    invite_send: "Send invitation", invited: "Invitation sent to ", active: "Active",
    pending: "Invited", last_login: "Last sign-in", state: "State", back: "Back"
  }
};

function tr(key) { return STRINGS[LANG][key] || STRINGS.nl[key] || key; }

/* ---- sign-in ------------------------------------------------------------------------- */

function viewLogin() {
  var msg = el("p", { "class": "error", "data-testid": "login-error" });
  var user = el("input", { id: "user", name: "user", autocomplete: "username", required: true });
  var pw = el("input", { id: "password", name: "password", type: "password",
                         autocomplete: "current-password", required: true });
  show(el("form", { "class": "card narrow", "data-testid": "login-form", onsubmit: function (e) {
    e.preventDefault();
    msg.textContent = "";
    api("POST", "/api/login", { user: user.value, password: pw.value }).then(function (s) {
      session = s;
      pw.value = "";
      header();
      location.hash = s.role === "owner" ? "#/t/" + s.tenant : "#/";
    }).catch(function (err) { msg.textContent = err.message; });
  } },
    el("h1", { text: "Sign in" }),
    el("label", { "for": "user", text: "User name" }), user,
    el("label", { "for": "password", text: "Password" }), pw,
    el("p", null, el("button", { type: "submit", text: "Sign in" })), msg,
    el("p", null, el("a", { href: "#/forgot", "data-testid": "forgot-link", text: tr("forgot_link") }))));
}

/* ---- account: forgotten password, links from mails, own password, users ---------------- */

function pwField(id, label, auto) {
  var input = el("input", { id: id, name: id, type: "password", autocomplete: auto,
                            required: true, minlength: auto === "current-password" ? null : "10" });
  return [el("label", { "for": id, text: label }), input];
}

function viewForgot() {
  var msg = el("p", { role: "status", "data-testid": "forgot-result" });
  var who = el("input", { id: "forgot-who", name: "user", autocomplete: "username", required: true });
  show(el("form", { "class": "card narrow", "data-testid": "forgot-form", onsubmit: function (e) {
    e.preventDefault();
    api("POST", "/api/password/forgot", { user: who.value }).then(function (r) {
      msg.className = "";
      msg.textContent = r.message;
    }).catch(function (err) { msg.className = "error"; msg.textContent = err.message; });
  } },
    el("h1", { text: tr("forgot_title") }),
    el("label", { "for": "forgot-who", text: tr("forgot_who") }), who,
    el("p", null, el("button", { type: "submit", text: tr("forgot_send") })), msg,
    el("p", null, el("a", { href: "#/login", text: tr("back") }))));
  who.focus();
}

/* #/invite/TOKEN and #/reset/TOKEN: the links in the mails. */
function viewSetPassword(purpose, token) {
  var msg = el("p", { role: "alert", "class": "error", "data-testid": "set-error" });
  var a = pwField("new-pw", tr("new_pw"), "new-password");
  var b = pwField("repeat-pw", tr("repeat_pw"), "new-password");
  show(el("form", { "class": "card narrow", "data-testid": "set-form", onsubmit: function (e) {
    e.preventDefault();
    msg.textContent = "";
    if (a[1].value !== b[1].value) { msg.textContent = tr("mismatch"); return; }
    api("POST", purpose === "invite" ? "/api/invite/accept" : "/api/password/reset",
        { token: token, password: a[1].value }).then(function () {
      history.replaceState(null, "", "#/login"); /* the used token leaves the address bar */
      viewLogin();
      flash(tr("pw_set"), "ok");
    }).catch(function (err) { msg.textContent = err.message; });
  } },
    el("h1", { text: tr(purpose === "invite" ? "set_invite" : "set_reset") }), a, b,
    el("p", null, el("button", { type: "submit", text: tr("save_pw") })), msg));
  a[1].focus();
}

function viewAccount() {
  var msg = el("p", { role: "alert", "class": "error", "data-testid": "account-error" });
  var cur = pwField("current-pw", tr("current_pw"), "current-password");
  var a = pwField("new-pw", tr("new_pw"), "new-password");
  var b = pwField("repeat-pw", tr("repeat_pw"), "new-password");
  show(el("form", { "class": "card narrow", "data-testid": "account-form", onsubmit: function (e) {
    e.preventDefault();
    msg.textContent = "";
    if (a[1].value !== b[1].value) { msg.textContent = tr("mismatch"); return; }
    api("POST", "/api/password", { current: cur[1].value, "new": a[1].value }).then(function () {
      cur[1].value = a[1].value = b[1].value = "";
      flash(tr("changed"), "ok");
    }).catch(function (err) { msg.textContent = err.message; });
  } },
    el("h1", { text: tr("account") }), el("h2", { text: tr("change_pw") }), cur, a, b,
    el("p", null, el("button", { type: "submit", text: tr("save_pw") })), msg));
}

function viewUsers() {
  return Promise.all([api("GET", "/api/users"), api("GET", "/api/tenants")]).then(function (d) {
    var rows = d[0].users.map(function (u) {
      return el("tr", { "data-user": u.name }, td(u.name), td(tr(u.role)), td(u.tenant || ""),
                td(u.email || ""), td(tr(u.active ? "active" : "pending")), td(u.last_login_at || ""));
    });
    var msg = el("p", { role: "status", "data-testid": "invite-result" });
    var name = el("input", { id: "inv-name", name: "name", required: true });
    var mail = el("input", { id: "inv-email", name: "email", type: "email", required: true });
    var role = select([["owner", tr("owner")], ["operator", tr("operator")]], "owner", { id: "inv-role" });
    var shops = d[1].tenants.map(function (t) { return [t.tenant, t.tenant]; });
    var shop = select(shops, shops.length ? shops[0][0] : "", { id: "inv-tenant" });
    role.addEventListener("change", function () { shop.disabled = role.value !== "owner"; });
    show(el("section", null,
      el("div", { "class": "card" }, el("h1", { text: tr("users") }),
        table([tr("name"), tr("role"), tr("tenant"), tr("email"), tr("state"), tr("last_login")],
              rows, "users")),
      el("form", { "class": "card narrow", "data-testid": "invite-form", onsubmit: function (e) {
        e.preventDefault();
        msg.className = "";
        msg.textContent = "";
        api("POST", "/api/users/invite", { name: name.value, email: mail.value, role: role.value,
                                           tenant: role.value === "owner" ? shop.value : null })
          .then(function (r) { flash(tr("invited") + r.email, "ok"); return viewUsers(); })
          .catch(function (err) { msg.className = "error"; msg.textContent = err.message; });
      } },
        el("h2", { text: tr("invite") }),
        el("label", { "for": "inv-name", text: tr("name") }), name,
        el("label", { "for": "inv-email", text: tr("email") }), mail,
        el("label", { "for": "inv-role", text: tr("role") }), role,
        el("label", { "for": "inv-tenant", text: tr("tenant") }), shop,
        el("p", null, el("button", { type: "submit", text: tr("invite_send") })), msg)));
  });
}

function header() {
  var who = document.getElementById("who");
  var out = document.getElementById("logout");
  who.textContent = session ? session.user + " (" + session.role +
    (session.tenant ? ", " + session.tenant : "") + ")" : "";
  out.hidden = !session;
  document.getElementById("account").hidden = !session;
  document.getElementById("account").textContent = tr("account");
  document.getElementById("users").hidden = !session || session.role !== "operator";
  document.getElementById("users").textContent = tr("users");
}

/* ---- all tenants ----------------------------------------------------------------------- */

function viewTenants() {
  return api("GET", "/api/tenants").then(function (d) {
    var rows = d.tenants.map(function (t) {
      var c = t.counts || {};
      var f = (t.failures || [])[0];
      return el("tr", { "data-tenant": t.tenant },
        td(el("a", { href: "#/t/" + enc(t.tenant), text: t.tenant })),
        td([badge(t.state), el("div", { "class": "muted", text: t.state_reason })]),
        td(t.last_sync || "never"),
        td(c.extracted, "num"), td(c.transformed, "num"), td(c.loaded, "num"),
        td(c.failed, "num"), td(c.dead_letters_open, "num"),
        td(f ? f.at + " " + f.stage + " " + (f.source_id || "") + ": " + f.message : ""));
    });
    show(el("section", { "class": "card" }, el("h1", { text: "Tenants" }),
      table(["Tenant", "State", "Last sync", "Extracted", "Transformed", "Loaded", "Failed",
             "Dead letters", "Latest failure"], rows, "tenants")));
  });
}

/* ---- one tenant ------------------------------------------------------------------------ */

var TABS = [["", "Overview"], ["mappings", "Mappings"], ["log", "Sync log"],
            ["deadletters", "Dead letters"], ["exact", "Exact Online"], ["preview", "Preview"]];

function tenantFrame(t, tab, state, body) {
  return el("section", null,
    el("h1", null, "Tenant " + t + " ", state ? badge(state) : null),
    el("nav", { "class": "tabs" }, TABS.map(function (x) {
      return el("a", { href: "#/t/" + enc(t) + (x[0] ? "/" + x[0] : ""),
                       "class": x[0] === tab ? "on" : null, "data-tab": x[0] || "overview",
                       text: x[1] });
    })), body);
}

function kv(obj) {
  return el("dl", { "class": "kv" }, Object.keys(obj || {}).map(function (k) {
    var v = obj[k];
    if (v !== null && typeof v === "object") v = JSON.stringify(v);
    return [el("dt", { text: k }), el("dd", { text: v === null ? "–" : String(v) })];
  }));
}

function viewOverview(t) {
  return api("GET", "/api/tenants/" + enc(t)).then(function (d) {
    var s = d.status;
    var fails = (s.failures || []).map(function (f) {
      return el("tr", null, td(f.at), td(f.stage), td(f.source_id), td(f.message));
    });
    show(tenantFrame(t, "", s.state, [
      el("div", { "class": "card" }, el("p", { "data-testid": "state-reason", text: s.state_reason }),
        el("p", { "class": "muted", text: "Last sync: " + (s.last_sync || "never") })),
      el("div", { "class": "card" }, el("h2", { text: "Counts" }), kv(s.counts)),
      el("div", { "class": "card" }, el("h2", { text: "Extraction" }), kv(s.extraction)),
      el("div", { "class": "card" }, el("h2", { text: "Exact budget" }), kv(s.budget)),
      el("div", { "class": "card" }, el("h2", { text: "Latest failures" }),
        table(["At", "Stage", "Source", "Message"], fails, "failures")),
      el("div", { "class": "card" }, el("h2", { text: "Settings" }), kv(d.tenant))]));
  });
}

/* ---- mappings editor ------------------------------------------------------------------- */

var SCENARIOS = ["domestic", "icp", "export", "oss", "distance_origin"];
var CLASSES = ["", "standard", "reduced", "super_reduced", "parking", "zero"];
var SCALARS = [["shipping_item", "Shipping item"], ["discount_item", "Discount item"],
               ["payment_cost_item", "Payment cost item"], ["rounding_item", "Rounding item"],
               ["custom_item", "Item for rows without a product"],
               ["journal", "Sales journal (invoices)"], ["default_item_group", "Default item group"],
               ["default_payment_condition", "Default payment condition"],
               ["vat_number", "Own VAT number (asks VIES)"]];

function select(options, value, attrs) {
  var s = el("select", attrs || null, options.map(function (o) {
    var v = Array.isArray(o) ? o[0] : o, label = Array.isArray(o) ? o[1] : (o || "–");
    return el("option", { value: v, selected: v === value ? "selected" : null, text: label });
  }));
  s.value = value === undefined || value === null ? options[0] : value;
  return s;
}

function vatRow(c) {
  var pct = el("input", { "data-f": "percentage", inputmode: "decimal",
                          value: c.percentage === undefined ? "" : String(c.percentage) });
  return el("tr", { "class": "vat" },
    td(el("input", { "data-f": "code", value: c.code || "" })),
    td(select(SCENARIOS, c.scenario || "domestic", { "data-f": "scenario" })),
    td(el("input", { "data-f": "country", maxlength: "2", size: "3", value: c.country || "" })),
    td(select(CLASSES, c["class"] || "", { "data-f": "class" })),
    td(pct),
    td(el("button", { type: "button", "class": "danger", text: "Remove",
                      onclick: function (e) { e.target.closest("tr").remove(); } })));
}

function mapRows(obj) {
  return Object.keys(obj || {}).map(function (k) { return mapRow(k, obj[k]); });
}

function mapRow(k, v) {
  return el("tr", { "class": "pair" },
    td(el("input", { "data-f": "key", value: k })), td(el("input", { "data-f": "value", value: v })),
    td(el("button", { type: "button", "class": "danger", text: "Remove",
                      onclick: function (e) { e.target.closest("tr").remove(); } })));
}

function mapEditor(title, name, obj, keyLabel) {
  var body = el("tbody", { "data-map": name }, mapRows(obj));
  return el("div", { "class": "card" }, el("h2", { text: title }),
    el("div", { "class": "scroll" }, el("table", null,
      el("thead", null, el("tr", null, el("th", { text: keyLabel }), el("th", { text: "Exact code" }), el("th"))),
      body)),
    el("p", null, el("button", { type: "button", "class": "secondary", text: "Add",
                                 onclick: function () { body.appendChild(mapRow("", "")); } })));
}

function viewMappings(t) {
  return Promise.all([api("GET", "/api/tenants/" + enc(t) + "/mappings"),
                      api("GET", "/api/tenants/" + enc(t))]).then(function (res) {
    var rules = res[0].rules || { tenant: t, division: res[1].tenant.exact_division || 0,
                                  home_country: "NL", book_as: "salesorder", vat_codes: [] };
    var version = res[0].version;
    var f = {};
    var msg = el("p", { "data-testid": "mapping-result" });
    var stored = el("p", { "class": "muted", "data-testid": "mapping-version",
                           text: version ? "Stored version " + version : "No rules stored yet" });
    var vatBody = el("tbody", { "data-testid": "vat-codes" }, (rules.vat_codes || []).map(vatRow));
    f.division = el("input", { id: "m-division", inputmode: "numeric", value: String(rules.division || "") });
    f.home_country = el("input", { id: "m-home", maxlength: "2", value: rules.home_country || "NL" });
    f.book_as = select([["salesorder", "Sales order"], ["salesinvoice", "Sales invoice"]],
                       rules.book_as || "salesorder", { id: "m-book-as" });
    f.oss_mode = select([["registered", "Registered for OSS"], ["not_registered", "Not registered"],
                         ["auto", "Automatic (EUR 10,000 threshold)"]],
                        rules.oss_mode || (rules.oss_registered ? "registered" : "not_registered"),
                        { id: "m-oss-mode" });
    f.prices_shown = select([["incl", "Incl. VAT"], ["excl", "Excl. VAT"]], rules.prices_shown || "incl",
                            { id: "m-prices" });
    f.vies_policy = select([["recheck", "Book, check again later"], ["hold", "Hold until VIES answers"],
                            ["domestic", "Home VAT rate (no 0% without VIES)"], ["off", "Do not ask VIES"]],
                           rules.vies_policy || "recheck", { id: "m-vies-policy" });
    var scalars = SCALARS.map(function (s) {
      f[s[0]] = el("input", { id: "m-" + s[0], value: rules[s[0]] || "" });
      return el("div", null, el("label", { "for": "m-" + s[0], text: s[1] }), f[s[0]]);
    });

    function collect() {
      var out = JSON.parse(JSON.stringify(rules));
      out.tenant = t;
      out.division = parseInt(f.division.value, 10) || f.division.value;
      out.home_country = f.home_country.value.trim().toUpperCase();
      out.book_as = f.book_as.value;
      out.oss_mode = f.oss_mode.value;
      out.oss_registered = f.oss_mode.value === "registered";
      out.prices_shown = f.prices_shown.value;
      out.vies_policy = f.vies_policy.value;
      SCALARS.forEach(function (s) {
        var v = f[s[0]].value.trim();
        if (v) out[s[0]] = v; else delete out[s[0]];
      });
      out.vat_codes = Array.prototype.map.call(vatBody.querySelectorAll("tr.vat"), function (tr) {
        var c = {};
        tr.querySelectorAll("[data-f]").forEach(function (i) {
          var v = i.value.trim();
          if (!v) return;
          if (i.dataset.f === "percentage") c.percentage = isNaN(Number(v)) ? v : Number(v);
          else if (i.dataset.f === "country") c.country = v.toUpperCase();
          else c[i.dataset.f] = v;
        });
        return c;
      });
      document.querySelectorAll("tbody[data-map]").forEach(function (tb) {
        var m = {};
        tb.querySelectorAll("tr.pair").forEach(function (tr) {
          var k = tr.querySelector("[data-f=key]").value.trim();
          var v = tr.querySelector("[data-f=value]").value.trim();
          if (k) m[k] = v;
        });
        out[tb.dataset.map] = m;
      });
      return out;
    }

    function send(check) {
      msg.className = "";
      msg.textContent = check ? "Checking…" : "Saving…";
      var path = "/api/tenants/" + enc(t) + "/mappings" + (check ? "/check" : "");
      return api(check ? "POST" : "PUT", path, collect()).then(function (r) {
        msg.className = "ok";
        if (check) {
          msg.textContent = "The rules are valid.";
        } else {
          version = r.version;
          stored.textContent = "Stored version " + version;
          msg.textContent = "Saved: version " + r.version + ".";
          flash("Mappings saved (version " + r.version + ").", "ok");
        }
      }).catch(function (err) {
        msg.className = "error";
        msg.textContent = err.message;
      });
    }

    show(tenantFrame(t, "mappings", null, el("form", { "data-testid": "mappings", onsubmit: function (e) {
      e.preventDefault();
      send(false);
    } },
      el("div", { "class": "card" },
        stored,
        el("div", { "class": "row" },
          el("div", null, el("label", { "for": "m-division", text: "Exact division" }), f.division),
          el("div", null, el("label", { "for": "m-home", text: "Home country" }), f.home_country),
          el("div", null, el("label", { "for": "m-book-as", text: "Book as" }), f.book_as),
          el("div", null, el("label", { "for": "m-oss-mode", text: "OSS" }), f.oss_mode),
          el("div", null, el("label", { "for": "m-prices", text: "Shop prices" }), f.prices_shown),
          el("div", null, el("label", { "for": "m-vies-policy", text: "When VIES is down" }), f.vies_policy)),
        el("div", { "class": "row" }, scalars)),
      el("div", { "class": "card" }, el("h2", { text: "VAT codes per scenario and country" }),
        el("div", { "class": "scroll" }, el("table", null,
          el("thead", null, el("tr", null, ["Code", "Scenario", "Country", "Class", "Percentage", ""].map(function (h) {
            return el("th", { text: h });
          }))), vatBody)),
        el("p", null, el("button", { type: "button", "class": "secondary", "data-testid": "add-vat",
                                     text: "Add VAT code",
                                     onclick: function () { vatBody.appendChild(vatRow({})); } }))),
      mapEditor("Item groups (shop category → Exact item group)", "item_groups", rules.item_groups, "Category"),
      mapEditor("Payment conditions (payment method → Exact condition)", "payment_conditions",
                rules.payment_conditions, "Payment method"),
      mapEditor("G/L accounts (line kind → account, invoices)", "gl_accounts", rules.gl_accounts, "Line kind"),
      el("div", { "class": "card" },
        el("div", { "class": "row" },
          el("button", { type: "button", "class": "secondary", text: "Check", onclick: function () { send(true); } }),
          el("button", { type: "submit", "data-testid": "save-mappings", text: "Save" })),
        msg))));
  });
}

/* ---- sync log -------------------------------------------------------------------------- */

/* The VAT engine's review warnings and the VIES consultation of an order (sync log, preview). */
function reviewOf(warnings) {
  return warnings && warnings.length ?
    el("p", { "class": "error", "data-testid": "review-warnings",
              text: "Review: " + warnings.map(function (w) { return w.replace(/^review: /, ""); }).join("; ") }) : null;
}
function viesOf(v) {
  if (!v) return null;
  var parts = ["VIES " + v.vat_number + ": " + v.outcome];
  if (v.error) parts.push(v.error);
  if (v.consultation) parts.push("consultation " + v.consultation);
  if (v.date) parts.push(String(v.date).slice(0, 10));
  if (v.outcome === "unavailable" && v.policy) parts.push("policy " + v.policy);
  return el("p", { "class": v.outcome === "valid" ? "muted" : "error", "data-testid": "vies-consultation",
                   text: parts.join(" · ") });
}

function viewLog(t, params) {
  var q = new URLSearchParams(params || "");
  var form = el("form", { "class": "card", "data-testid": "log-filter" });
  var fields = {
    q: el("input", { name: "q", placeholder: "order id, trace id or text", value: q.get("q") || "" }),
    status: select(["", "ok", "failed", "skipped", "info"], q.get("status") || "", { name: "status" }),
    stage: select(["", "extract", "transform", "load", "admin"], q.get("stage") || "", { name: "stage" }),
    entity: el("input", { name: "entity", placeholder: "order, product…", value: q.get("entity") || "" }),
    since: el("input", { name: "since", type: "date", value: q.get("since") || "" }),
    until: el("input", { name: "until", type: "date", value: q.get("until") || "" })
  };
  add(form, el("div", { "class": "row" }, Object.keys(fields).map(function (k) {
    return el("div", null, el("label", { text: k === "q" ? "Search" : k }), fields[k]);
  }), el("button", { type: "submit", text: "Filter" })));
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var p = new URLSearchParams();
    Object.keys(fields).forEach(function (k) { if (fields[k].value) p.set(k, fields[k].value); });
    location.hash = "#/t/" + enc(t) + "/log?" + p.toString();
  });
  var body = el("tbody");
  var more = el("button", { type: "button", "class": "secondary", text: "Older entries", hidden: true });
  function load(before) {
    var p = new URLSearchParams(q.toString());
    if (before) p.set("before", before);
    p.set("limit", "100");
    return api("GET", "/api/tenants/" + enc(t) + "/log?" + p.toString()).then(function (d) {
      d.entries.forEach(function (e) {
        var src = e.source_id && e.entity === "order" ?
          el("a", { href: "#/t/" + enc(t) + "/preview?order_id=" + enc(e.source_id), text: e.source_id }) :
          e.source_id;
        body.appendChild(el("tr", null, td(e.at), td(e.stage), td(e.entity), td(src),
          td(badge(e.status)), el("td", null, e.message, reviewOf(e.warnings), viesOf(e.vies)),
          td(e.trace_id)));
      });
      more.hidden = !d.next_before;
      more.onclick = function () { load(d.next_before); };
    });
  }
  show(tenantFrame(t, "log", null, [form, el("div", { "class": "card" },
    table(["At", "Stage", "Entity", "Source", "Status", "Message", "Trace"], body, "log"), more)]));
  return load(null);
}

/* ---- dead letters ---------------------------------------------------------------------- */

function viewDeadLetters(t, params) {
  var q = new URLSearchParams(params || "");
  var state = select([["open", "Open"], ["redriven", "Retried"], ["dropped", "Dropped"], ["", "All"]],
                     q.has("state") ? q.get("state") : "open", { "data-testid": "dl-state" });
  state.addEventListener("change", function () {
    location.hash = "#/t/" + enc(t) + "/deadletters?state=" + enc(state.value);
  });
  var path = "/api/tenants/" + enc(t) + "/deadletters" + (state.value ? "?state=" + enc(state.value) : "");
  return api("GET", path).then(function (d) {
    var rows = d.dead_letters.map(function (x) {
      var actions = el("td");
      var payload = el("pre", { hidden: true });
      if (x.state === "open") {
        add(actions, el("button", { type: "button", "data-testid": "redrive", text: "Retry", onclick: function (e) {
          e.target.disabled = true;
          api("POST", path.split("?")[0] + "/" + x.id + "/redrive").then(function () {
            flash("Dead letter " + x.id + " sent again to " + x.source_topic + ".", "ok");
            return viewDeadLetters(t, params);
          }).catch(function (err) { e.target.disabled = false; flash(err.message, "error"); });
        } }));
        if (session && session.role === "operator") {
          add(actions, " ", el("button", { type: "button", "class": "danger", text: "Drop", onclick: function () {
            var reason = prompt("Why drop dead letter " + x.id + "?");
            if (!reason) return;
            api("POST", path.split("?")[0] + "/" + x.id + "/drop", { reason: reason }).then(function () {
              flash("Dead letter " + x.id + " dropped.", "ok");
              return viewDeadLetters(t, params);
            }).catch(function (err) { flash(err.message, "error"); });
          } }));
        }
      }
      add(actions, " ", el("button", { type: "button", "class": "secondary", text: "Payload", onclick: function () {
        api("GET", path.split("?")[0] + "/" + x.id).then(function (full) {
          payload.textContent = full.payload;
          payload.hidden = !payload.hidden;
        }).catch(function (err) { flash(err.message, "error"); });
      } }));
      if (x.source_id && /shop\.orders$/.test(x.source_topic)) {
        add(actions, " ", el("a", { href: "#/t/" + enc(t) + "/preview?order_id=" + enc(x.source_id), text: "Preview" }));
      }
      return el("tr", { "data-id": String(x.id) }, td(x.id, "num"), td(x.created_at), td(x.stage),
        td(x.source_topic + " " + x.source_id), td([el("div", { text: x.reason }), payload]),
        td(badge(x.state)), actions);
    });
    show(tenantFrame(t, "deadletters", null, el("div", { "class": "card" },
      el("div", { "class": "row" }, el("div", null, el("label", { text: "Show" }), state)),
      table(["Id", "Created", "Stage", "Source", "Reason", "State", ""], rows, "dead-letters"))));
  });
}

/* ---- Exact connection ------------------------------------------------------------------ */

function viewExact(t) {
  return api("GET", "/api/tenants/" + enc(t) + "/exact").then(function (d) {
    var msg = el("p", { "class": "error" });
    show(tenantFrame(t, "exact", null, el("div", { "class": "card" },
      el("p", null, "Connection: ", badge(d.token_state === "ok" ? "ok" : "needs_consent"),
        " ", el("span", { "class": "muted", "data-testid": "token-reason", text: d.token_reason || "" })),
      kv(d),
      el("p", null, el("button", { type: "button", "data-testid": "connect", text: "Connect to Exact Online",
        onclick: function (e) {
          e.target.disabled = true;
          api("POST", "/api/tenants/" + enc(t) + "/exact/connect").then(function (r) {
            location.href = r.url;
          }).catch(function (err) { e.target.disabled = false; msg.textContent = err.message; });
        } })), msg)));
  });
}

/* ---- booking preview ------------------------------------------------------------------- */

function viewPreview(t, params) {
  var q = new URLSearchParams(params || "");
  var id = el("input", { id: "p-order-id", inputmode: "numeric", value: q.get("order_id") || "" });
  var text = el("textarea", { id: "p-order", placeholder: "{\"id\": 1, ..., \"orderrows\": [...]}" });
  var out = el("div", { "data-testid": "preview-result" });
  function run() {
    var body;
    out.textContent = "Working…";
    if (text.value.trim()) {
      try { body = { order: JSON.parse(text.value) }; } catch (e) {
        out.textContent = "";
        add(out, el("p", { "class": "error", text: "That is not JSON: " + e.message }));
        return;
      }
    } else {
      body = { order_id: id.value.trim() };
    }
    api("POST", "/api/tenants/" + enc(t) + "/preview", body).then(function (d) {
      var r = d.result;
      out.textContent = "";
      if (r.error) {
        add(out, el("p", { "class": "error", "data-testid": "preview-error", text: "Rejected: " + r.error }));
        return;
      }
      if (r.held) {
        add(out, [el("p", { "class": "error", "data-testid": "preview-held", text: "Held: " + r.held }), viesOf(r.vies)]);
        return;
      }
      var lines = (r.body.SalesOrderLines || r.body.SalesInvoiceLines || []).map(function (l) {
        return el("tr", null, td(l.Item), td(l.Description), td(l.Quantity, "num"),
                  td(l.NetPrice, "num"), td(l.VATCode), td(l.VATPercentage, "num"));
      });
      add(out, [
        el("p", { "data-testid": "preview-summary",
                  text: "Order " + r.source_id + ": " + r.scenario + " → " + r.endpoint +
                        " (net " + r.totals.net + ", VAT " + r.totals.vat + ", gross " + r.totals.gross + ")" }),
        el("p", { "class": "muted", text: "Order from " + d.order_source + ", rules version " + d.rules_version }),
        table(["Item", "Description", "Qty", "Net price", "VAT code", "VAT"], lines, "preview-lines"),
        reviewOf(r.warnings),
        viesOf(r.vies),
        el("pre", { text: JSON.stringify(r.body, null, 2) })]);
    }).catch(function (err) {
      out.textContent = "";
      add(out, el("p", { "class": "error", "data-testid": "preview-error", text: err.message }));
    });
  }
  show(tenantFrame(t, "preview", null, [el("form", { "class": "card", onsubmit: function (e) { e.preventDefault(); run(); } },
    el("p", { "class": "muted", text: "The booking an order would produce with the stored mapping rules (the transformer's dry run). Give an order id from the sync log or paste the order JSON." }),
    el("label", { "for": "p-order-id", text: "Order id" }), id,
    el("label", { "for": "p-order", text: "…or the order JSON (GET /orders/{id} with \"orderrows\")" }), text,
    el("p", null, el("button", { type: "submit", "data-testid": "run-preview", text: "Preview" }))),
    el("div", { "class": "card" }, out)]));
  if (id.value) run();
}

/* ---- routing --------------------------------------------------------------------------- */

function route() {
  var h = location.hash.replace(/^#/, "") || "/";
  var qpos = h.indexOf("?");
  var params = qpos >= 0 ? h.slice(qpos + 1) : "";
  var parts = (qpos >= 0 ? h.slice(0, qpos) : h).split("/").filter(Boolean).map(decodeURIComponent);
  var open = { login: 1, forgot: 1, invite: 1, reset: 1 }; /* no session needed */
  if (parts[0] === "forgot") { viewForgot(); return; }
  if ((parts[0] === "invite" || parts[0] === "reset") && parts[1]) {
    viewSetPassword(parts[0], parts[1]);
    return;
  }
  if (!session && !open[parts[0]]) {
    return api("GET", "/api/session").then(function (s) { session = s; header(); route(); })
      .catch(function () { location.hash = "#/login"; viewLogin(); });
  }
  var p;
  if (parts[0] === "login") { viewLogin(); return; }
  if (parts[0] === "t" && parts[1]) {
    var views = { "": viewOverview, mappings: viewMappings, log: viewLog,
                  deadletters: viewDeadLetters, exact: viewExact, preview: viewPreview,
                  wizard: viewWizard /* wizard.js */ };
    var v = views[parts[2] || ""];
    p = v ? v(parts[1], params) : null;
  } else if (parts[0] === "account") {
    viewAccount();
  } else if (parts[0] === "users") {
    p = viewUsers();
  } else {
    p = viewTenants();
  }
  if (p && p.catch) p.catch(function (err) {
    show(el("div", { "class": "card" }, el("p", { "class": "error", "data-testid": "page-error", text: err.message })));
  });
}

document.getElementById("logout").addEventListener("click", function () {
  api("POST", "/api/logout").catch(function () {}).then(function () {
    session = null;
    header();
    location.hash = "#/login";
  });
});
window.addEventListener("hashchange", function () { flash(""); route(); });
route();
