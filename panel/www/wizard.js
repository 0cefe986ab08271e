/* Onboarding wizard (#/t/T/wizard, docs/panel.md "Onboarding"): the shop owner connects the
 * shop and Exact Online, picks the mapping from the administration's own codes, previews the
 * latest orders and switches syncing on. Uses app.js's el/add/show/api/tr/tenantFrame; the
 * server checks every step again (/api/tenants/T/onboarding/...). */
"use strict";

Object.assign(STRINGS.nl, {
  wiz_tab: "Aan de slag", wiz_title: "Aan de slag: uw winkel koppelen aan Exact Online",
  wiz_step_shop: "1. Webwinkel koppelen", wiz_step_exact: "2. Exact Online koppelen",
  wiz_step_mapping: "3. Boekingsregels kiezen", wiz_step_preview: "4. Voorbeeld bekijken",
  wiz_step_live: "5. Synchronisatie starten", wiz_done: "klaar", wiz_todo: "nog te doen",
  wiz_next: "Volgende stap", wiz_busy: "Bezig…",
  shop_intro: "Vul het adres van uw CCV Shop in en de API-sleutels uit het beheer van uw winkel (Instellingen › API). Wij controleren ze met één ondertekend verzoek aan uw winkel voordat we ze opslaan.",
  shop_url: "Adres van uw winkel", shop_public_key: "Publieke sleutel (public key)",
  shop_secret: "Geheime sleutel (secret)", shop_connect: "Controleren en opslaan",
  shop_connected: "Uw winkel is gekoppeld: ", shop_connected_already: "Uw winkel is gekoppeld (", shop_replace: "Andere sleutels invullen",
  shop_says: "De winkel antwoordde: ",
  err_shop_url: "Het adres van de winkel klopt niet: gebruik het adres dat met https:// begint.",
  err_shop_public_key: "Vul de publieke sleutel in.", err_shop_secret: "Vul de geheime sleutel in.",
  err_shop_keys: "De winkel weigert deze sleutels: de publieke sleutel is onbekend of de geheime sleutel hoort er niet bij. Kopieer beide opnieuw uit het beheer van uw winkel.",
  err_shop_signature: "Het antwoord van de winkel is niet ondertekend met deze geheime sleutel: controleer de geheime sleutel.",
  err_shop_not_found: "Op dit adres is geen CCV Shop-API gevonden: controleer het adres van de winkel.",
  err_shop_answer: "Dit adres antwoordt, maar niet als een CCV Shop: controleer het adres van de winkel.",
  err_shop_unreachable: "De winkel is op dit adres niet bereikbaar: controleer het adres en probeer het opnieuw.",
  exact_intro: "U geeft toestemming bij Exact Online zelf; daarna kiest u de administratie waarin de winkel boekt.",
  exact_connect: "Verbinden met Exact Online", exact_reconnect: "Opnieuw verbinden",
  exact_connected: "Exact Online is gekoppeld.", exact_division: "Administratie",
  exact_choose: "Deze administratie gebruiken", exact_chosen: "Gekozen administratie: ",
  err_exact_consent: "Exact Online vraagt eerst (opnieuw) om toestemming.",
  err_exact_unreachable: "Exact Online is nu niet bereikbaar. Probeer het over een paar minuten opnieuw.",
  err_division_unknown: "Deze administratie is voor uw Exact-gebruiker niet bereikbaar.",
  err_division_taken: "Deze administratie is al gekoppeld aan een andere winkel: kies een eigen administratie.",
  err_division: "Kies een administratie.",
  map_intro: "Wij hebben uit uw administratie een voorstel gemaakt. Controleer elke keuze; u kunt eerst een voorbeeld bekijken voordat u opslaat.",
  map_loading: "Codes ophalen uit Exact Online…", map_vat: "Btw-codes",
  map_situation: "Situatie", map_vat_code: "Btw-code",
  map_journal: "Verkoopdagboek", map_item_group: "Artikelgroep voor nieuwe artikelen",
  map_payment: "Betalingsvoorwaarde", map_gl: "Grootboekrekeningen (alleen voor facturen)",
  map_gl_goods: "Omzet artikelen", map_gl_shipping: "Verzendkosten", map_gl_discount: "Korting",
  map_gl_payment_costs: "Betaalkosten", map_none: "(geen)", map_oss: "Verkoop op afstand in andere EU-landen (OSS)",
  map_save: "Boekingsregels opslaan", map_saved: "De boekingsregels zijn opgeslagen (versie ",
  map_preview: "Voorbeeld met deze keuzes",
  sc_domestic: "Nederland", sc_icp: "Zakelijk binnen de EU (ICP, btw verlegd)",
  sc_export: "Export buiten de EU", sc_oss: "Particulier in ",
  cl_standard: "hoog tarief", cl_reduced: "laag tarief", cl_zero: "nultarief",
  cl_exempt: "vrijgesteld", cl_super_reduced: "super-verlaagd tarief", cl_parking: "parkeertarief",
  pv_intro: "Zo zouden de laatste bestellingen van uw winkel in Exact Online worden geboekt. Er wordt nog niets verstuurd.",
  pv_none: "Uw winkel heeft nog geen afgeronde bestellingen.", pv_order: "Bestelling ",
  pv_as_salesorder: "verkooporder", pv_as_salesinvoice: "verkoopfactuur",
  pv_net: "netto", pv_vat: "btw", pv_gross: "totaal", pv_rejected: "Niet te boeken: ",
  pv_held: "Wordt aangehouden: ", pv_item: "Artikel", pv_desc: "Omschrijving",
  pv_qty: "Aantal", pv_price: "Prijs", pv_vat_code: "Btw-code", pv_run: "Voorbeeld vernieuwen",
  live_intro: "Zodra u de synchronisatie start, haalt de koppeling bestellingen uit uw winkel en boekt ze in Exact Online. U kunt altijd pauzeren.",
  live_switch: "Synchronisatie aan", live_on: "De synchronisatie staat aan.",
  live_off: "De synchronisatie staat uit.",
  live_missing: "Eerst nodig: ", miss_shop: "de webwinkel koppelen",
  miss_exact: "Exact Online koppelen", miss_division: "een administratie kiezen",
  err_not_ready: "Dit kan nog niet: rond eerst de vorige stappen af.",
  err_live: "Ongeldige keuze."
});
Object.assign(STRINGS.en, {
  wiz_tab: "Get started", wiz_title: "Get started: connect your shop to Exact Online",
  wiz_step_shop: "1. Connect the shop", wiz_step_exact: "2. Connect Exact Online",
  wiz_step_mapping: "3. Choose the booking rules", wiz_step_preview: "4. Preview",
  wiz_step_live: "5. Start syncing", wiz_done: "done", wiz_todo: "to do",
  wiz_next: "Next step", wiz_busy: "Working…",
  shop_intro: "Enter your CCV Shop's address and the API keys from your shop's back office (Settings › API). We check them with one signed request to your shop before we store them.",
  shop_url: "Your shop's address", shop_public_key: "Public key", shop_secret: "Secret",
  shop_connect: "Check and save", shop_connected: "Your shop is connected: ",
  shop_connected_already: "Your shop is connected (", shop_replace: "Enter other keys",
  shop_says: "The shop answered: ",
  err_shop_url: "The shop's address is not right: use the address starting with https://.",
  err_shop_public_key: "Enter the public key.", err_shop_secret: "Enter the secret.",
  err_shop_keys: "The shop refuses these keys: the public key is unknown or the secret does not belong to it. Copy both again from your shop's back office.",
  err_shop_signature: "The shop's answer is not signed with this secret: check the secret.",
  err_shop_not_found: "No CCV Shop API was found at this address: check the shop's address.",
  err_shop_answer: "This address answers, but not as a CCV Shop: check the shop's address.",
  err_shop_unreachable: "The shop cannot be reached at this address: check it and try again.",
  exact_intro: "You give your consent at Exact Online itself; then you choose the administration the shop books into.",
  exact_connect: "Connect to Exact Online", exact_reconnect: "Connect again",
  exact_connected: "Exact Online is connected.", exact_division: "Administration",
  exact_choose: "Use this administration", exact_chosen: "Chosen administration: ",
  err_exact_consent: "Exact Online first needs your (new) consent.",
  err_exact_unreachable: "Exact Online cannot be reached now. Try again in a few minutes.",
  err_division_unknown: "Your Exact user cannot reach this administration.",
  err_division_taken: "This administration is already another shop's: choose one of its own.",
  err_division: "Choose an administration.",
  map_intro: "We made a proposal from your administration. Check every choice; you can preview before you save.",
  map_loading: "Fetching the codes from Exact Online…", map_vat: "VAT codes",
  map_situation: "Situation", map_vat_code: "VAT code", map_journal: "Sales journal",
  map_item_group: "Item group for new items", map_payment: "Payment condition",
  map_gl: "G/L accounts (invoices only)", map_gl_goods: "Revenue from items",
  map_gl_shipping: "Shipping costs", map_gl_discount: "Discount",
  map_gl_payment_costs: "Payment costs", map_none: "(none)",
  map_oss: "Distance sales to other EU countries (OSS)", map_save: "Save the booking rules",
  map_saved: "The booking rules are saved (version ", map_preview: "Preview with these choices",
  sc_domestic: "The Netherlands", sc_icp: "Business customers in the EU (ICP, reverse charge)",
  sc_export: "Export outside the EU", sc_oss: "Consumers in ",
  cl_standard: "standard rate", cl_reduced: "reduced rate", cl_zero: "zero rate",
  cl_exempt: "exempt", cl_super_reduced: "super-reduced rate", cl_parking: "parking rate",
  pv_intro: "This is how your shop's latest orders would be booked in Exact Online. Nothing is sent yet.",
  pv_none: "Your shop has no completed orders yet.", pv_order: "Order ",
  pv_as_salesorder: "sales order", pv_as_salesinvoice: "sales invoice",
  pv_net: "net", pv_vat: "VAT", pv_gross: "total", pv_rejected: "Cannot be booked: ",
  pv_held: "Held: ", pv_item: "Item", pv_desc: "Description", pv_qty: "Quantity",
  pv_price: "Price", pv_vat_code: "VAT code", pv_run: "Refresh the preview",
  live_intro: "Once you start syncing, the connector takes orders from your shop and books them in Exact Online. You can pause at any time.",
  live_switch: "Syncing on", live_on: "Syncing is on.", live_off: "Syncing is off.",
  live_missing: "First needed: ", miss_shop: "connect the shop", miss_exact: "connect Exact Online",
  miss_division: "choose an administration",
  err_not_ready: "Not yet: finish the earlier steps first.", err_live: "Invalid choice."
});

/* The tab after "Overzicht"; app.js's tabs name their text by key (tr() when drawn). */
if (typeof TABS !== "undefined") {
  TABS.splice(1, 0, ["wizard", /^tab_/.test(TABS[0][1]) ? "wiz_tab" : tr("wiz_tab")]);
}

/* Back from Exact's consent (the callback returns to the Exact tab): on to the wizard. */
(function () {
  var m = /^#\/t\/([^/]+)\/exact$/.exec(location.hash);
  if (m && sessionStorage.getItem("cx_wizard") === decodeURIComponent(m[1])) {
    sessionStorage.removeItem("cx_wizard");
    location.replace("#/t/" + m[1] + "/wizard?step=exact");
  }
})();

var WIZ_STEPS = ["shop", "exact", "mapping", "preview", "live"];

function wizNumber(v, pct) {
  return new Intl.NumberFormat(LANG === "en" ? "en-GB" : "nl-NL",
    pct ? { style: "percent", maximumFractionDigits: 1 } : { style: "currency", currency: "EUR" }).format(v);
}

/* The server's refusal in the page's language, with the shop's or Exact's own words. */
function wizError(err) {
  var b = err.body || {};
  var key = "err_" + (b.reason || "");
  var text = STRINGS[LANG][key] ? tr(key) : err.message;
  if (b.reason && b.reason.indexOf("shop_") === 0 && b.detail) text += " " + tr("shop_says") + b.detail;
  return text;
}

/* api(), an empty answer read as {} (the refusal's body is on the error, for wizError). */
function wizApi(method, path, body) {
  return api(method, path, body).then(function (d) { return d || {}; });
}

function wizMsg(testid) {
  return el("p", { role: "status", "aria-live": "polite", "data-testid": testid });
}

/* kind: true for a refusal, "busy" while waiting, else success */
function wizSay(node, text, kind) {
  node.className = kind === "busy" ? "muted" : kind ? "error" : "ok-text";
  node.textContent = text;
}

function wizSelect(id, rows, value, none) {
  var s = el("select", { id: id });
  if (none) add(s, el("option", { value: "", text: tr("map_none") }));
  rows.forEach(function (r) {
    var pct = typeof r.Percentage === "number" ? " (" + wizNumber(r.Percentage, true) + ")" : "";
    add(s, el("option", { value: r.Code, text: r.Code + " – " + (r.Description || "") + pct }));
  });
  s.value = value || (none ? "" : (rows[0] ? rows[0].Code : ""));
  return s;
}

function wizField(id, label, input) {
  input.id = id;
  return [el("label", { "for": id, text: label }), input];
}

function viewWizard(t, params) {
  var q = new URLSearchParams(params || "");
  var base = "/api/tenants/" + enc(t);
  var ctx = { rules: null, choices: null };
  return wizApi("GET", base + "/onboarding").then(function (st) {
    var body = el("div", { "class": "card", "data-testid": "wizard" });
    var nav = el("ol", { "class": "wiz-steps" });
    function done(step) {
      if (step === "shop") return st.shop.connected;
      if (step === "exact") return st.exact.connected && st.exact.division !== null;
      if (step === "mapping") return st.mapping_version !== null;
      if (step === "preview") return !!WIZ_PREVIEWED[t];
      return st.live;
    }
    var current;
    /* the steps with what is done; drawn again after every change */
    function drawNav() {
      nav.textContent = "";
      WIZ_STEPS.forEach(function (s) {
        add(nav, el("li", { "class": s === current ? "on" : null, "data-done": done(s) ? "1" : null },
          el("a", { href: "#/t/" + enc(t) + "/wizard?step=" + s, "data-step": s,
                    "aria-current": s === current ? "step" : null, text: tr("wiz_step_" + s) }),
          " ", el("span", { "class": "muted", text: "(" + tr(done(s) ? "wiz_done" : "wiz_todo") + ")" })));
      });
    }
    function go(step) {
      current = step;
      drawNav();
      body.textContent = "";
      var h = el("h2", { tabindex: "-1", "data-testid": "step-title", text: tr("wiz_step_" + step) });
      add(body, h);
      ({ shop: stepShop, exact: stepExact, mapping: stepMapping, preview: stepPreview, live: stepLive })[step](body);
      h.focus();
    }
    function next(step) {
      var i = WIZ_STEPS.indexOf(step);
      return el("p", null, el("a", { "class": "button", "data-testid": "next",
        href: "#/t/" + enc(t) + "/wizard?step=" + WIZ_STEPS[i + 1], text: tr("wiz_next") }));
    }

    function stepShop(box) {
      var msg = wizMsg("shop-result");
      var url = el("input", { type: "text", inputmode: "url", autocomplete: "url", required: true,
                              value: st.shop.connected ? st.shop.url : "", placeholder: "https://" });
      var pub = el("input", { autocomplete: "off", required: true, spellcheck: "false" });
      var sec = el("input", { type: "password", autocomplete: "off", required: true });
      add(box, el("p", { text: tr("shop_intro") }));
      if (st.shop.connected)
        add(box, el("p", { "class": "ok-text", "data-testid": "shop-state", text: tr("shop_connected_already") + st.shop.url + ")" }));
      add(box, el("form", { "data-testid": "shop-form", onsubmit: function (e) {
        e.preventDefault();
        wizSay(msg, tr("wiz_busy"), "busy");
        /* "mijnwinkel.ccvshop.nl" as typed: the shop's API speaks https */
        if (url.value.trim() && !/^[a-z]+:\/\//i.test(url.value.trim())) url.value = "https://" + url.value.trim();
        wizApi("POST", base + "/onboarding/shop", { url: url.value.trim(), public_key: pub.value.trim(),
                                                    secret: sec.value.trim() }).then(function (r) {
          sec.value = "";
          st.shop.connected = true;
          st.shop.url = r.url;
          drawNav();
          wizSay(msg, tr("shop_connected") + (r.webshop || r.url));
          add(box, next("shop"));
        }).catch(function (err) { wizSay(msg, wizError(err), true); });
      } }, wizField("w-shop-url", tr("shop_url"), url), wizField("w-shop-pub", tr("shop_public_key"), pub),
        wizField("w-shop-secret", tr("shop_secret"), sec),
        el("p", null, el("button", { type: "submit", "data-testid": "shop-connect", text: tr("shop_connect") })), msg));
      if (st.shop.connected) add(box, next("shop"));
    }

    function stepExact(box) {
      var msg = wizMsg("exact-result");
      add(box, el("p", { text: tr("exact_intro") }));
      var connect = el("button", { type: "button", "data-testid": "exact-connect", "class": st.exact.connected ? "secondary" : null,
        text: tr(st.exact.connected ? "exact_reconnect" : "exact_connect"), onclick: function () {
          connect.disabled = true;
          wizApi("POST", base + "/exact/connect").then(function (r) {
            sessionStorage.setItem("cx_wizard", t);
            location.href = r.url;
          }).catch(function (err) { connect.disabled = false; wizSay(msg, wizError(err), true); });
        } });
      if (!st.exact.connected) { add(box, [el("p", null, connect), msg]); return; }
      add(box, el("p", { "class": "ok-text", text: tr("exact_connected") }));
      var pick = el("div", { "data-testid": "divisions" }, tr("wiz_busy"));
      add(box, [pick, msg, el("p", null, connect)]);
      wizApi("GET", base + "/onboarding/divisions").then(function (d) {
        var s = el("select", { id: "w-division" }, d.divisions.map(function (x) {
          return el("option", { value: x.Code, text: x.Code + " – " + x.Description + (x.Country ? " (" + x.Country + ")" : "") });
        }));
        s.value = String(st.exact.division || d.current);
        pick.textContent = "";
        add(pick, el("form", { onsubmit: function (e) {
          e.preventDefault();
          wizApi("POST", base + "/onboarding/division", { division: Number(s.value) }).then(function (r) {
            st.exact.division = r.division;
            drawNav();
            wizSay(msg, tr("exact_chosen") + s.options[s.selectedIndex].text);
            if (!box.querySelector("[data-testid=next]")) add(box, next("exact"));
          }).catch(function (err) { wizSay(msg, wizError(err), true); });
        } }, el("label", { "for": "w-division", text: tr("exact_division") }), s,
          el("p", null, el("button", { type: "submit", "data-testid": "division-choose", text: tr("exact_choose") }))));
        if (st.exact.division) {
          wizSay(msg, tr("exact_chosen") + s.options[s.selectedIndex].text);
          add(box, next("exact"));
        }
      }).catch(function (err) { pick.textContent = ""; wizSay(msg, wizError(err), true); });
    }

    /* The rules from the pickers: the stored rules (or the proposal) with the choices in. */
    function collect(form) {
      var r = JSON.parse(JSON.stringify(ctx.rules));
      r.division = ctx.choices.division;
      r.vat_codes = ctx.vat.map(function (v, i) {
        var x = JSON.parse(JSON.stringify(v));
        x.code = form.querySelector("#w-vat-" + i).value;
        return x;
      });
      r.journal = form.querySelector("#w-journal").value || undefined;
      r.default_item_group = form.querySelector("#w-item-group").value || undefined;
      r.default_payment_condition = form.querySelector("#w-payment").value || undefined;
      var gl = {};
      ["goods", "shipping", "discount", "payment_costs"].forEach(function (k) {
        var v = form.querySelector("#w-gl-" + k).value;
        if (v) gl[k] = v;
      });
      r.gl_accounts = Object.assign({}, r.gl_accounts || {}, gl);
      return r;
    }
    function vatLabel(v) {
      var where = v.scenario === "oss" ? tr("sc_oss") + v.country : tr("sc_" + v.scenario);
      var cls = v["class"] ? ", " + tr("cl_" + v["class"]) : "";
      return where + cls + (typeof v.percentage === "number" ? " " + wizNumber(v.percentage / 100, true) : "");
    }

    function stepMapping(box) {
      var msg = wizMsg("mapping-result");
      var wait = el("p", { role: "status", "aria-live": "polite", text: tr("map_loading") });
      add(box, [el("p", { text: tr("map_intro") }), wait]);
      Promise.all([wizApi("GET", base + "/onboarding/choices"), wizApi("GET", base + "/mappings")]).then(function (d) {
        var c = d[0], stored = d[1].rules;
        var prop = c.proposal || { vat_codes: [] };
        ctx.choices = c;
        ctx.rules = stored || Object.assign({}, prop);
        delete ctx.rules.review;
        /* one picker per situation: the proposal's, with a stored code pre-selected over it */
        ctx.vat = prop.vat_codes.map(function (v) {
          var s = (stored && stored.vat_codes || []).filter(function (x) {
            return x.scenario === v.scenario && (x["class"] || "") === (v["class"] || "") && (x.country || "") === (v.country || "");
          })[0];
          return Object.assign({}, v, s ? { code: s.code } : {});
        });
        wait.remove();
        var form = el("form", { "data-testid": "mapping-form" });
        var main = el("tbody"), oss = el("tbody");
        ctx.vat.forEach(function (v, i) {
          var id = "w-vat-" + i;
          add(v.scenario === "oss" ? oss : main, el("tr", { "data-situation": v.scenario + "/" + (v["class"] || "") + "/" + (v.country || "") },
            el("td", null, el("label", { "for": id, text: vatLabel(v) })),
            el("td", null, wizSelect(id, c.vat_codes, v.code))));
        });
        var sales = c.journals.filter(function (j) { return j.Type === 20; });
        var group = c.item_groups.filter(function (g) { return g.IsDefault; })[0];
        var r = ctx.rules;
        add(form, [el("h3", { text: tr("map_vat") }),
          table([tr("map_situation"), tr("map_vat_code")], main, "wizard-vat"),
          oss.children.length ? el("details", null, el("summary", { text: tr("map_oss") }),
                                   table([tr("map_situation"), tr("map_vat_code")], oss, "wizard-oss")) : null,
          el("div", { "class": "row" },
            el("div", null, wizField("w-journal", tr("map_journal"), wizSelect("w-journal", sales.length ? sales : c.journals, r.journal))),
            el("div", null, wizField("w-item-group", tr("map_item_group"), wizSelect("w-item-group", c.item_groups, r.default_item_group || (group && group.Code)))),
            el("div", null, wizField("w-payment", tr("map_payment"), wizSelect("w-payment", c.payment_conditions, r.default_payment_condition)))),
          el("h3", { text: tr("map_gl") }),
          el("div", { "class": "row" }, ["goods", "shipping", "discount", "payment_costs"].map(function (k) {
            return el("div", null, wizField("w-gl-" + k, tr("map_gl_" + k),
              wizSelect("w-gl-" + k, c.gl_accounts, (r.gl_accounts || {})[k] || (k === "goods" && group ? group.GLRevenueCode : ""), true)));
          })),
          el("p", { "class": "row" },
            el("button", { type: "button", "class": "secondary", "data-testid": "mapping-preview", text: tr("map_preview"), onclick: function () {
              WIZ_PENDING[t] = collect(form);
              location.hash = "#/t/" + enc(t) + "/wizard?step=preview";
            } }),
            el("button", { type: "submit", "data-testid": "mapping-save", text: tr("map_save") })), msg]);
        form.addEventListener("submit", function (e) {
          e.preventDefault();
          var rules = collect(form);
          wizApi("PUT", base + "/mappings", rules).then(function (res) {
            ctx.rules = rules;
            WIZ_PENDING[t] = rules;
            st.mapping_version = res.version;
            drawNav();
            wizSay(msg, tr("map_saved") + res.version + ").");
            if (!box.querySelector("[data-testid=next]")) add(box, next("mapping"));
          }).catch(function (err) { wizSay(msg, wizError(err), true); });
        });
        add(box, form);
        if (st.mapping_version !== null) add(box, next("mapping"));
      }).catch(function (err) { wait.remove(); add(box, msg); wizSay(msg, wizError(err), true); });
    }

    function stepPreview(box) {
      var out = el("div", { "data-testid": "wizard-preview", "aria-live": "polite" }, tr("wiz_busy"));
      var rules = WIZ_PENDING[t];
      add(box, [el("p", { text: tr("pv_intro") }), out]);
      wizApi("GET", base + "/onboarding/orders").then(function (d) {
        out.textContent = "";
        if (!d.orders.length) { add(out, el("p", { text: tr("pv_none") })); return null; }
        return Promise.all(d.orders.map(function (o) {
          var card = el("div", { "class": "wiz-order", "data-order": o.id });
          add(out, card);
          var req = { order_id: String(o.id) };
          if (rules) req.rules = rules;
          return wizApi("POST", base + "/preview", req).then(function (p) { previewCard(card, o, p.result); })
            .catch(function (err) { add(card, el("p", { "class": "error", text: tr("pv_order") + (o.ordernumber_full || o.id) + ": " + wizError(err) })); });
        }));
      }).then(function () {
        WIZ_PREVIEWED[t] = true;
        drawNav();
        add(box, next("preview"));
      }).catch(function (err) { out.textContent = ""; add(out, el("p", { "class": "error", text: wizError(err) })); });
    }
    function previewCard(card, o, r) {
      var title = tr("pv_order") + (o.ordernumber_full || o.id) + (o.create_date ? " (" + new Date(o.create_date).toLocaleString(LANG === "en" ? "en-GB" : "nl-NL") + ")" : "");
      if (r.error) { add(card, [el("h3", { text: title }), el("p", { "class": "error", text: tr("pv_rejected") + r.error })]); return; }
      if (r.held) { add(card, [el("h3", { text: title }), el("p", { "class": "error", text: tr("pv_held") + r.held })]); return; }
      var lines = (r.body.SalesOrderLines || r.body.SalesInvoiceLines || []).map(function (l) {
        return el("tr", null, td(l.Item), td(l.Description), td(l.Quantity, "num"),
                  td(wizNumber(l.NetPrice), "num"), td(l.VATCode));
      });
      add(card, [el("h3", { text: title }),
        el("p", { "data-testid": "preview-summary", text: (r.body.SalesInvoiceLines ? tr("pv_as_salesinvoice") : tr("pv_as_salesorder")) + " · " +
          tr("sc_" + r.scenario) + " · " + tr("pv_net") + " " + wizNumber(r.totals.net) + ", " + tr("pv_vat") + " " +
          wizNumber(r.totals.vat) + ", " + tr("pv_gross") + " " + wizNumber(r.totals.gross) }),
        table([tr("pv_item"), tr("pv_desc"), tr("pv_qty"), tr("pv_price"), tr("pv_vat_code")], lines, "wizard-preview-lines")]);
    }

    function stepLive(box) {
      var msg = wizMsg("live-result");
      var sw = el("input", { type: "checkbox", id: "w-live", role: "switch", "data-testid": "live-switch" });
      sw.checked = !!st.live;
      var missing = st.missing.map(function (m) { return tr("miss_" + m); });
      add(box, el("p", { text: tr("live_intro") }));
      if (missing.length) add(box, el("p", { "class": "error", "data-testid": "live-missing", text: tr("live_missing") + missing.join(", ") + "." }));
      add(box, [el("p", { "class": "switch" }, sw, " ", el("label", { "for": "w-live", text: tr("live_switch") })), msg]);
      wizSay(msg, tr(st.live ? "live_on" : "live_off"));
      sw.addEventListener("change", function () {
        var want = sw.checked;
        sw.disabled = true;
        wizApi("POST", base + "/onboarding/live", { live: want }).then(function (r) {
          st.live = r.live;
          drawNav();
          wizSay(msg, tr(r.live ? "live_on" : "live_off"));
        }).catch(function (err) {
          sw.checked = !want;
          wizSay(msg, wizError(err), true);
        }).then(function () { sw.disabled = false; });
      });
    }

    var step = q.get("step");
    if (WIZ_STEPS.indexOf(step) < 0) step = WIZ_STEPS.filter(function (s) { return !done(s); })[0] || "live";
    show(tenantFrame(t, "wizard", null, [el("h2", { "class": "sr-only", text: tr("wiz_title") }),
      el("nav", { "aria-label": tr("wiz_title") }, nav), body]));
    go(step);
  });
}

/* Per tenant: rules being tried from the mapping step (for the preview step), and whether
 * the preview was seen. */
var WIZ_PENDING = {}, WIZ_PREVIEWED = {};
