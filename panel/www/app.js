/* Control panel page: a small hash-routed app over the JSON API (/api/, docs/panel.md).
 * Every value from the server is put in the page as text (textContent), never as HTML.
 * Every text the page shows comes from STRINGS (Dutch first, English as a choice); amounts,
 * percentages and times are formatted for the language (Intl), times in the browser's zone. */
"use strict";

var session = null;

/* ---- language: the switch's choice (localStorage), else the browser's first of nl/en ---- */

var LANGS = ["nl", "en"];
var LOCALES = { nl: "nl-NL", en: "en-GB" };

function pickLang() {
  try {
    var saved = localStorage.getItem("cx_lang");
    if (LANGS.indexOf(saved) >= 0) return saved;
  } catch (e) { /* storage switched off: the browser's languages decide */ }
  var prefs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""];
  for (var i = 0; i < prefs.length; i++) {
    var l = String(prefs[i]).slice(0, 2).toLowerCase();
    if (LANGS.indexOf(l) >= 0) return l;
  }
  return "nl";
}

var LANG = pickLang();

/* Other scripts (wizard.js) add their texts with Object.assign(STRINGS.nl, {...}). */
var STRINGS = {
  nl: {
    app_title: "Koppeling CCV Shop – Exact Online", loading: "Laden…", lang_group: "Taal",
    sign_out: "Uitloggen", sign_in: "Inloggen", user_name: "Gebruikersnaam", password: "Wachtwoord",
    forgot_link: "Wachtwoord vergeten?", forgot_title: "Wachtwoord vergeten",
    forgot_who: "Gebruikersnaam of e-mailadres", forgot_send: "Stuur een link",
    forgot_sent: "Als deze gebruiker bestaat en een e-mailadres heeft, is er een link gestuurd.",
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
    last_login: "Laatst ingelogd", state: "Status", back: "Terug", never: "nog nooit",
    yes: "ja", no: "nee", none: "–",
    /* errors the server names in English */
    e_wrong_pw: "Onjuiste gebruikersnaam of wachtwoord.",
    e_wait: "Te veel pogingen: wacht {s} s en probeer het opnieuw.",
    e_signins: "Te veel mensen loggen tegelijk in: probeer het zo opnieuw.",
    e_busy: "Het paneel is druk: probeer het zo opnieuw.",
    e_no_access: "U hebt geen toegang tot die winkel.",
    e_signed_out: "U bent niet (meer) ingelogd.",
    e_internal: "Er ging iets mis in het paneel; de beheerder kan het nazien in het logboek.",
    e_slow: "Het zoeken duurde te lang: maak de zoekopdracht kleiner.",
    e_network: "Het paneel is niet bereikbaar (HTTP {s}).",
    e_offline: "Het paneel is niet bereikbaar.",
    /* tenants and their state */
    tenants: "Winkels", tenant_title: "Winkel {t}", last_sync: "Laatst gesynchroniseerd",
    latest_failure: "Laatste fout",
    st_healthy: "In orde", st_lagging: "Loopt achter", st_failing: "Fouten",
    st_needs_consent: "Toestemming nodig", st_disabled: "Uitgeschakeld", st_ok: "Gelukt",
    st_failed: "Mislukt", st_skipped: "Overgeslagen", st_info: "Info", st_open: "Open",
    st_redriven: "Opnieuw verstuurd", st_dropped: "Verwijderd", st_connected: "Gekoppeld",
    why_healthy: "Alles loopt.", why_disabled: "De koppeling voor deze winkel staat uit.",
    why_consent: "Exact Online heeft (opnieuw) uw toestemming nodig.",
    why_failing: "{failed} mislukt, {open} wachten op herstel.",
    why_nothing: "Er is nog niets uit de winkel opgehaald.",
    why_lag: "Laatst opgehaald {ago}.",
    c_extracted: "Opgehaald", c_transformed: "Omgezet", c_loaded: "Geboekt",
    c_loaded_entities: "Alles geboekt in Exact (ook relaties en artikelen)",
    c_failed: "Mislukt", c_pending: "Wachtend", c_dead_letters_open: "Wachten op herstel",
    tab_overview: "Overzicht", tab_mappings: "Koppelingen", tab_log: "Logboek",
    tab_deadletters: "Mislukt", tab_exact: "Exact Online", tab_preview: "Voorbeeld",
    tabs_label: "Onderdelen van de winkel",
    counts: "Aantallen", extraction: "Ophalen uit de winkel", budget: "Gebruik van Exact Online",
    latest_failures: "Laatste fouten", settings: "Instellingen",
    x_last_extraction: "Laatst opgehaald",
    b_daily_limit: "Daglimiet (aanroepen)", b_used_today: "Vandaag gebruikt",
    b_remaining_today: "Vandaag over", b_minutely_limit: "Limiet per minuut",
    b_calls_total: "Aanroepen in totaal", b_rate_limited_total: "Keren afgeremd door Exact",
    b_parked_until: "Gepauzeerd tot", b_parked_reason: "Reden van de pauze",
    b_blocked_endpoints: "Tijdelijk geblokkeerde onderdelen",
    s_name: "Naam", s_enabled: "Koppeling aan", s_shop_base_url: "Adres van de winkel",
    s_shop_public_key: "Publieke API-sleutel", s_shop_secret_set: "Geheime API-sleutel ingesteld",
    s_sync_entities: "Wat gesynchroniseerd wordt", s_bookable_require_paid: "Alleen betaalde bestellingen boeken",
    s_bookable_statuses: "Bestelstatussen die geboekt worden", s_extract_from: "Ophalen vanaf",
    s_exact_division: "Exact-administratie (divisie)", s_token_state: "Koppeling met Exact",
    s_mapping_version: "Versie van de koppelingen", s_created_at: "Aangemaakt", s_updated_at: "Gewijzigd",
    s_exact_base_url: "Adres van Exact Online", s_exact_client_id: "Client-id van de Exact-app",
    s_exact_client_secret_set: "Client-secret ingesteld",
    s_exact_redirect_uri: "Terugkeeradres (redirect URI)", s_token_expires_at: "Toegang geldig tot",
    s_panel_callback: "Terugkeeradres van dit paneel",
    ent_order: "Bestelling", ent_orders: "Bestellingen", ent_product: "Artikel",
    ent_products: "Artikelen", ent_customer: "Relatie", ent_customers: "Relaties",
    ent_account: "Relatie", ent_item: "Artikel", ent_sales_order: "Verkooporder",
    ent_sales_invoice: "Verkoopfactuur", ent_payment: "Betaling", ent_webhook: "Webhook",
    ent_credit_note: "Creditfactuur",
    /* mappings */
    m_none_yet: "Nog geen regels opgeslagen", m_version: "Opgeslagen versie {v}",
    m_division: "Exact-administratie (divisie)", m_home: "Land van vestiging",
    m_book_as: "Boeken als", m_oss: "OSS (éénloketsysteem)", m_prices: "Prijzen in de winkel",
    m_vies: "Als VIES niet bereikbaar is",
    book_salesorder: "Verkooporder", book_salesinvoice: "Verkoopfactuur",
    oss_registered: "Aangemeld voor OSS", oss_not_registered: "Niet aangemeld",
    oss_auto: "Automatisch (drempel {amount})",
    prices_incl: "Incl. btw", prices_excl: "Excl. btw",
    vp_recheck: "Boeken, later opnieuw controleren", vp_hold: "Aanhouden tot VIES antwoordt",
    vp_domestic: "Binnenlands btw-tarief (geen 0% zonder VIES)", vp_off: "VIES niet raadplegen",
    sc_shipping_item: "Artikel voor verzendkosten", sc_discount_item: "Artikel voor korting",
    sc_payment_cost_item: "Artikel voor betaalkosten", sc_rounding_item: "Artikel voor afronding",
    sc_custom_item: "Artikel voor regels zonder product", sc_journal: "Verkoopdagboek (facturen)",
    sc_default_item_group: "Standaard artikelgroep",
    sc_default_payment_condition: "Standaard betalingsconditie",
    sc_vat_number: "Eigen btw-nummer (voor VIES)",
    vat_title: "Btw-codes per situatie en land", vat_code: "Btw-code", scenario: "Situatie",
    country: "Land", vat_class: "Tariefsoort", percentage: "Percentage", add_vat: "Btw-code toevoegen",
    scn_domestic: "Binnenland", scn_icp: "Intracommunautaire levering (ICP)",
    scn_export: "Export buiten de EU", scn_oss: "OSS (btw van het land van bestemming)",
    scn_distance_origin: "Afstandsverkoop (btw van eigen land)",
    cls_: "–", cls_standard: "Standaard (hoog)", cls_reduced: "Verlaagd",
    cls_super_reduced: "Super verlaagd", cls_parking: "Parkeertarief", cls_zero: "Nultarief",
    map_item_groups: "Artikelgroepen (winkelcategorie → artikelgroep in Exact)",
    map_payment_conditions: "Betalingscondities (betaalmethode → betalingsconditie in Exact)",
    map_gl_accounts: "Grootboekrekeningen (soort regel → grootboekrekening, facturen)",
    key_item_groups: "Categorie", key_payment_conditions: "Betaalmethode", key_gl_accounts: "Soort regel",
    exact_code: "Code in Exact", add: "Toevoegen", remove: "Verwijderen", check: "Controleren",
    save: "Opslaan", checking: "Controleren…", saving: "Opslaan…", rules_valid: "De regels zijn in orde.",
    saved: "Opgeslagen: versie {v}.", saved_flash: "Koppelingen opgeslagen (versie {v}).",
    row_n: "regel {n}",
    /* sync log */
    search: "Zoeken", search_hint: "bestelnummer, kenmerk of tekst", f_status: "Status",
    f_stage: "Stap", f_entity: "Soort", f_since: "Vanaf", f_until: "Tot en met", filter: "Filteren",
    all: "Alle", older: "Oudere regels",
    stg_extract: "Ophalen", stg_transform: "Omzetten", stg_load: "Boeken", stg_admin: "Beheer",
    h_at: "Tijdstip", h_stage: "Stap", h_entity: "Soort", h_source: "Bron", h_status: "Status",
    h_message: "Melding", h_trace: "Kenmerk", h_id: "Nr.", h_created: "Ontstaan", h_reason: "Reden",
    h_actions: "Acties", log_empty: "Geen regels gevonden.",
    review: "Controleren: {w}", msg_booked: "{kind}: {scenario}, bruto {gross}, {n} regel(s)",
    no_data: "Nog geen gegevens.", preview_link: "Voorbeeld van de boeking",
    vies_line: "VIES {nr}: {outcome}", vies_consult: "raadplegingsnummer {c}", vies_policy: "gekozen: {p}",
    vo_valid: "geldig", vo_invalid: "ongeldig", vo_unavailable: "niet bereikbaar",
    vo_not_checked: "nog niet gecontroleerd",
    ve_MS_UNAVAILABLE: "belastingdienst van dat land niet bereikbaar",
    ve_MS_MAX_CONCURRENT_REQ: "belastingdienst van dat land te druk",
    ve_SERVICE_UNAVAILABLE: "VIES buiten gebruik", ve_TIMEOUT: "geen antwoord op tijd",
    /* dead letters */
    show: "Tonen", dl_open: "Wachten op herstel", dl_redriven: "Opnieuw verstuurd",
    dl_dropped: "Verwijderd", retry: "Opnieuw proberen", drop: "Verwijderen",
    drop_why: "Waarom verwijdert u {what}?", payload: "Inhoud (voor support)",
    resent: "{what} is opnieuw verstuurd.", dropped_flash: "{what} is verwijderd.",
    dl_empty: "Niets dat wacht op herstel.", booking: "Boeking",
    /* Exact */
    connection: "Koppeling: ", connect: "Koppelen met Exact Online",
    /* preview */
    preview_intro: "Hoe een bestelling met de opgeslagen koppelingen in Exact Online geboekt zou worden (er wordt niets geboekt). Geef een bestelnummer uit het logboek of plak de bestelling.",
    order_id: "Bestelnummer", order_json: "…of de bestelling uit CCV Shop (JSON, met de orderregels)",
    preview: "Voorbeeld", working: "Bezig…", not_json: "Dat is geen JSON: {m}",
    rejected: "Geweigerd: {m}", held: "Aangehouden: {m}",
    summary: "Bestelling {id}: {scenario} → {kind} (netto {net}, btw {vat}, bruto {gross})",
    source_pasted: "Bestelling zoals geplakt", source_dead_letter: "Bestelling uit de mislukte berichten",
    source_shop: "Bestelling opgehaald uit de winkel", rules_version: "versie {v} van de koppelingen",
    l_item: "Artikel", l_desc: "Omschrijving", l_qty: "Aantal", l_net: "Nettoprijs",
    l_vat_code: "Btw-code", l_vat: "Btw", support_details: "Details voor support",
    support_body: "Het verzoek aan Exact Online, zoals de koppeling het zou versturen:"
  },
  en: {
    app_title: "CCV Shop – Exact Online connector", loading: "Loading…", lang_group: "Language",
    sign_out: "Sign out", sign_in: "Sign in", user_name: "User name", password: "Password",
    forgot_link: "Forgot your password?", forgot_title: "Forgotten password",
    forgot_who: "User name or e-mail address", forgot_send: "Send a link",
    forgot_sent: "If this user exists and has an e-mail address, a link was sent.",
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
    pending: "Invited", last_login: "Last sign-in", state: "State", back: "Back", never: "never",
    yes: "yes", no: "no", none: "–",
    e_wrong_pw: "Wrong user name or password.",
    e_wait: "Too many attempts: wait {s} s before trying again.",
    e_signins: "Too many sign-ins at once: try again in a moment.",
    e_busy: "The panel is busy: try again in a moment.",
    e_no_access: "You have no access to that shop.",
    e_signed_out: "You are not signed in (or the session expired).",
    e_internal: "Something went wrong in the panel; the operator can find it in the log.",
    e_slow: "The search took too long: narrow it down.",
    e_network: "The panel cannot be reached (HTTP {s}).",
    e_offline: "The panel cannot be reached.",
    tenants: "Shops", tenant_title: "Shop {t}", last_sync: "Last sync",
    latest_failure: "Latest failure",
    st_healthy: "Healthy", st_lagging: "Lagging", st_failing: "Failing",
    st_needs_consent: "Needs consent", st_disabled: "Disabled", st_ok: "OK",
    st_failed: "Failed", st_skipped: "Skipped", st_info: "Info", st_open: "Open",
    st_redriven: "Retried", st_dropped: "Dropped", st_connected: "Connected",
    why_healthy: "Everything is flowing.", why_disabled: "The connector is switched off for this shop.",
    why_consent: "Exact Online needs your (new) consent.",
    why_failing: "{failed} failed, {open} waiting for a fix.",
    why_nothing: "Nothing has been fetched from the shop yet.",
    why_lag: "Last fetched {ago}.",
    c_extracted: "Fetched", c_transformed: "Converted", c_loaded: "Booked",
    c_loaded_entities: "Everything booked in Exact (with relations and items)",
    c_failed: "Failed", c_pending: "Waiting", c_dead_letters_open: "Waiting for a fix",
    tab_overview: "Overview", tab_mappings: "Mappings", tab_log: "Sync log",
    tab_deadletters: "Failed items", tab_exact: "Exact Online", tab_preview: "Preview",
    tabs_label: "Parts of the shop",
    counts: "Counts", extraction: "Fetching from the shop", budget: "Use of Exact Online",
    latest_failures: "Latest failures", settings: "Settings",
    x_last_extraction: "Last fetched",
    b_daily_limit: "Daily limit (calls)", b_used_today: "Used today",
    b_remaining_today: "Left today", b_minutely_limit: "Limit per minute",
    b_calls_total: "Calls in total", b_rate_limited_total: "Times slowed down by Exact",
    b_parked_until: "Paused until", b_parked_reason: "Reason for the pause",
    b_blocked_endpoints: "Parts blocked for now",
    s_name: "Name", s_enabled: "Connector on", s_shop_base_url: "Shop address",
    s_shop_public_key: "Public API key", s_shop_secret_set: "Secret API key set",
    s_sync_entities: "What is synchronised", s_bookable_require_paid: "Book paid orders only",
    s_bookable_statuses: "Order statuses that are booked", s_extract_from: "Fetch from",
    s_exact_division: "Exact administration (division)", s_token_state: "Connection with Exact",
    s_mapping_version: "Mappings version", s_created_at: "Created", s_updated_at: "Changed",
    s_exact_base_url: "Exact Online address", s_exact_client_id: "Client id of the Exact app",
    s_exact_client_secret_set: "Client secret set",
    s_exact_redirect_uri: "Return address (redirect URI)", s_token_expires_at: "Access valid until",
    s_panel_callback: "This panel's return address",
    ent_order: "Order", ent_orders: "Orders", ent_product: "Item", ent_products: "Items",
    ent_customer: "Relation", ent_customers: "Relations", ent_account: "Relation", ent_item: "Item",
    ent_sales_order: "Sales order", ent_sales_invoice: "Sales invoice", ent_payment: "Payment",
    ent_webhook: "Webhook", ent_credit_note: "Credit note",
    m_none_yet: "No rules stored yet", m_version: "Stored version {v}",
    m_division: "Exact administration (division)", m_home: "Home country",
    m_book_as: "Book as", m_oss: "OSS (one-stop shop)", m_prices: "Shop prices",
    m_vies: "When VIES is down",
    book_salesorder: "Sales order", book_salesinvoice: "Sales invoice",
    oss_registered: "Registered for OSS", oss_not_registered: "Not registered",
    oss_auto: "Automatic ({amount} threshold)",
    prices_incl: "Incl. VAT", prices_excl: "Excl. VAT",
    vp_recheck: "Book, check again later", vp_hold: "Hold until VIES answers",
    vp_domestic: "Home VAT rate (no 0% without VIES)", vp_off: "Do not ask VIES",
    sc_shipping_item: "Shipping item", sc_discount_item: "Discount item",
    sc_payment_cost_item: "Payment cost item", sc_rounding_item: "Rounding item",
    sc_custom_item: "Item for rows without a product", sc_journal: "Sales journal (invoices)",
    sc_default_item_group: "Default item group",
    sc_default_payment_condition: "Default payment condition",
    sc_vat_number: "Own VAT number (for VIES)",
    vat_title: "VAT codes per scenario and country", vat_code: "VAT code", scenario: "Scenario",
    country: "Country", vat_class: "Rate class", percentage: "Percentage", add_vat: "Add VAT code",
    scn_domestic: "Domestic", scn_icp: "Intra-community supply (ICP)",
    scn_export: "Export outside the EU", scn_oss: "OSS (VAT of the destination country)",
    scn_distance_origin: "Distance sale (home VAT)",
    cls_: "–", cls_standard: "Standard", cls_reduced: "Reduced", cls_super_reduced: "Super reduced",
    cls_parking: "Parking rate", cls_zero: "Zero rate",
    map_item_groups: "Item groups (shop category → Exact item group)",
    map_payment_conditions: "Payment conditions (payment method → Exact payment condition)",
    map_gl_accounts: "G/L accounts (line kind → G/L account, invoices)",
    key_item_groups: "Category", key_payment_conditions: "Payment method", key_gl_accounts: "Line kind",
    exact_code: "Exact code", add: "Add", remove: "Remove", check: "Check", save: "Save",
    checking: "Checking…", saving: "Saving…", rules_valid: "The rules are valid.",
    saved: "Saved: version {v}.", saved_flash: "Mappings saved (version {v}).", row_n: "row {n}",
    search: "Search", search_hint: "order number, reference or text", f_status: "Status",
    f_stage: "Step", f_entity: "Kind", f_since: "From", f_until: "Up to and including",
    filter: "Filter", all: "All", older: "Older entries",
    stg_extract: "Fetch", stg_transform: "Convert", stg_load: "Book", stg_admin: "Admin",
    h_at: "At", h_stage: "Step", h_entity: "Kind", h_source: "Source", h_status: "Status",
    h_message: "Message", h_trace: "Reference", h_id: "No.", h_created: "Created", h_reason: "Reason",
    h_actions: "Actions", log_empty: "No entries found.",
    review: "Review: {w}", msg_booked: "{kind}: {scenario}, gross {gross}, {n} line(s)",
    no_data: "No data yet.", preview_link: "Preview of the booking",
    vies_line: "VIES {nr}: {outcome}", vies_consult: "consultation number {c}", vies_policy: "chosen: {p}",
    vo_valid: "valid", vo_invalid: "invalid", vo_unavailable: "unavailable",
    vo_not_checked: "not checked yet",
    ve_MS_UNAVAILABLE: "that country's tax office unavailable",
    ve_MS_MAX_CONCURRENT_REQ: "that country's tax office too busy",
    ve_SERVICE_UNAVAILABLE: "VIES out of service", ve_TIMEOUT: "no answer in time",
    show: "Show", dl_open: "Waiting for a fix", dl_redriven: "Retried", dl_dropped: "Dropped",
    retry: "Retry", drop: "Drop", drop_why: "Why drop {what}?", payload: "Content (for support)",
    resent: "{what} was sent again.", dropped_flash: "{what} was dropped.",
    dl_empty: "Nothing waits for a fix.", booking: "Booking",
    connection: "Connection: ", connect: "Connect to Exact Online",
    preview_intro: "How an order would be booked in Exact Online with the stored mappings (nothing is booked). Give an order number from the sync log or paste the order.",
    order_id: "Order number", order_json: "…or the order from CCV Shop (JSON, with its order rows)",
    preview: "Preview", working: "Working…", not_json: "That is not JSON: {m}",
    rejected: "Rejected: {m}", held: "Held: {m}",
    summary: "Order {id}: {scenario} → {kind} (net {net}, VAT {vat}, gross {gross})",
    source_pasted: "Order as pasted", source_dead_letter: "Order from the failed items",
    source_shop: "Order fetched from the shop", rules_version: "mappings version {v}",
    l_item: "Item", l_desc: "Description", l_qty: "Quantity", l_net: "Net price",
    l_vat_code: "VAT code", l_vat: "VAT", support_details: "Details for support",
    support_body: "The request to Exact Online, as the connector would send it:"
  }
};

/* The text for @key in the chosen language (Dutch when English lacks it); {name} in it is
 * replaced by vars.name. */
function tr(key, vars) {
  var s = STRINGS[LANG] && STRINGS[LANG][key];
  if (s === undefined) s = STRINGS.nl[key];
  if (s === undefined) return key;
  return vars ? s.replace(/\{(\w+)\}/g, function (m, k) { return vars[k] === undefined ? m : String(vars[k]); }) : s;
}

/* tr() for a value of a known set (state, stage, entity…); the value itself when unknown. */
function trv(prefix, value) {
  var k = prefix + (value === null || value === undefined ? "" : value);
  return STRINGS.nl[k] !== undefined ? tr(k) : (value === null || value === undefined ? "" : String(value));
}

function setLang(l) {
  LANG = l;
  try { localStorage.setItem("cx_lang", l); } catch (e) { /* the choice lasts this page only */ }
  staticTexts();
  header();
  route();
}

/* ---- locale formatting ----------------------------------------------------------------- */

function locale() { return LOCALES[LANG] || "nl-NL"; }

function fmtMoney(v) {
  if (v === null || v === undefined || v === "" || isNaN(Number(v))) return v === null || v === undefined ? "" : String(v);
  return new Intl.NumberFormat(locale(), { style: "currency", currency: "EUR" }).format(Number(v));
}

function fmtNum(v) {
  if (v === null || v === undefined || v === "" || isNaN(Number(v))) return v === null || v === undefined ? "" : String(v);
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 4 }).format(Number(v));
}

/* A fraction (Exact's 0.21) as a percentage: 21%. */
function fmtFraction(v) {
  if (v === null || v === undefined || v === "" || isNaN(Number(v))) return v === null || v === undefined ? "" : String(v);
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 2 }).format(Number(v));
}

/* A percentage number (the mapping's 21) as 21%. */
function fmtPct(v) { return isNaN(Number(v)) || v === "" || v === null ? (v || "") : fmtFraction(Number(v) / 100); }

/* ISO 8601 or PostgreSQL's timestamptz text into a Date; null when it is neither. */
function parseTime(s) {
  if (!s) return null;
  if (s instanceof Date) return s;
  var t = String(s).trim().replace(" ", "T")
    .replace(/(\.\d{3})\d+/, "$1").replace(/([+-]\d\d)$/, "$1:00");
  var d = new Date(t);
  return isNaN(d.getTime()) ? null : d;
}

/* A moment in the browser's own time zone, for the language. */
function fmtDateTime(s) {
  var d = parseTime(s);
  if (!d) return s ? String(s) : "";
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(d);
}

/* A calendar date (YYYY-MM-DD as such, without a time zone shift; a moment by its local day). */
function fmtDate(s) {
  if (!s) return "";
  var m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(String(s));
  var d = m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : parseTime(s);
  if (!d) return String(s);
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium" }).format(d);
}

/* "5 minutes ago" for a number of seconds in the past. */
function fmtAgo(seconds) {
  var s = Number(seconds) || 0;
  var rtf = new Intl.RelativeTimeFormat(locale(), { numeric: "auto" });
  if (s < 90) return rtf.format(-Math.round(s), "second");
  if (s < 5400) return rtf.format(-Math.round(s / 60), "minute");
  if (s < 129600) return rtf.format(-Math.round(s / 3600), "hour");
  return rtf.format(-Math.round(s / 86400), "day");
}

/* A PostgreSQL array literal ({orders,products}) or a JSON array into a list. */
function pgList(v) {
  if (Array.isArray(v)) return v;
  if (!v) return [];
  return String(v).replace(/^\{|\}$/g, "").split(",").map(function (x) {
    return x.replace(/^"|"$/g, "");
  }).filter(Boolean);
}

/* The server's English error texts in the page's language; others as they are. */
var ERRORS = [[/^wrong user name or password/, "e_wrong_pw"], [/^too many attempts: wait (\d+)/, "e_wait"],
              [/^too many sign-ins at once/, "e_signins"], [/^the panel is busy/, "e_busy"],
              [/^you have no access to that tenant/, "e_no_access"], [/^not signed in/, "e_signed_out"],
              [/^internal error/, "e_internal"], [/^the search took longer/, "e_slow"],
              [/^HTTP (\d+)$/, "e_network"], [/^Failed to fetch|NetworkError/, "e_offline"]];

function errText(err) {
  var m = String(err && err.message || err || "");
  for (var i = 0; i < ERRORS.length; i++) {
    var x = ERRORS[i][0].exec(m);
    if (x) return tr(ERRORS[i][1], { s: x[1] });
  }
  return m;
}

/* ---- page building ---------------------------------------------------------------------- */

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

/* Set by route(): the next screen shown takes the focus to its heading (screen readers hear
 * where they are); a screen drawn again after an action leaves the focus where it is. */
var focusHeading = false;

function show(node) {
  var app = document.getElementById("app");
  app.textContent = "";
  add(app, node);
  var h = app.querySelector("h1");
  document.title = (h ? h.textContent.trim() + " – " : "") + tr("app_title");
  if (focusHeading && h) {
    focusHeading = false;
    h.setAttribute("tabindex", "-1");
    h.focus();
  }
}

/* The live region (role=status) for what happened and what went wrong. */
function flash(text, kind) {
  var f = document.getElementById("flash");
  f.textContent = text || "";
  f.className = "flash " + (kind || "ok");
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
        err.body = data || {};
        throw err;
      }
      return data;
    });
  });
}

function badge(state, text) {
  return el("span", { "class": "badge " + state, "data-testid": "state", text: text || trv("st_", state) });
}

/* rows: row elements, or a tbody filled later (never nested in another tbody: the columns
 * would no longer line up with the headers). The scrolling box takes the keyboard focus so
 * that a wide table can be scrolled without a mouse. */
function table(headers, rows, testid, caption) {
  return el("div", { "class": "scroll", tabindex: "0", role: "region", "aria-label": caption || headers.join(", ") },
    el("table", { "data-testid": testid },
      el("thead", null, el("tr", null, headers.map(function (h) {
        return el("th", { scope: "col" }, h || el("span", { "class": "sr", text: tr("h_actions") }));
      }))),
      rows && rows.tagName === "TBODY" ? rows : el("tbody", null, rows)));
}

function td(v, cls) { return el("td", { "class": cls || null }, v === null || v === undefined ? "" : v); }

function enc(s) { return encodeURIComponent(s); }

/* A labelled list of an object's known members, each [member, text key, format]; members not
 * named are internal and not shown. */
function fields(obj, spec) {
  var o = obj || {};
  var known = spec.filter(function (s) { return s[0] in o; });
  if (!known.length) return el("p", { "class": "muted", text: tr("no_data") });
  return el("dl", { "class": "kv" }, known.map(function (s) {
    var v = o[s[0]], f = s[2];
    if (v === null || v === undefined || v === "") v = f === "time" && s[3] ? s[3] : tr("none");
    else if (f === "time") v = fmtDateTime(v);
    else if (f === "date") v = fmtDate(v);
    else if (f === "num") v = fmtNum(v);
    else if (f === "bool") v = tr(v === true || v === "t" || v === "true" ? "yes" : "no");
    else if (f === "entities") v = pgList(v).map(function (e) { return trv("ent_", e); }).join(", ") || tr("none");
    else if (f === "list") v = pgList(v).join(", ") || tr("none");
    else if (f === "state") v = badge(v === "ok" ? "ok" : v, v === "ok" ? tr("st_connected") : null);
    else if (typeof v === "object") v = JSON.stringify(v);
    return [el("dt", { text: tr(s[1]) }), el("dd", null, typeof v === "object" ? v : String(v))];
  }));
}

/* ---- sign-in ------------------------------------------------------------------------- */

function viewLogin() {
  var msg = el("p", { "class": "error", role: "alert", "data-testid": "login-error" });
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
    }).catch(function (err) { msg.textContent = errText(err); });
  } },
    el("h1", { text: tr("sign_in") }),
    el("label", { "for": "user", text: tr("user_name") }), user,
    el("label", { "for": "password", text: tr("password") }), pw,
    el("p", null, el("button", { type: "submit", text: tr("sign_in") })), msg,
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
    api("POST", "/api/password/forgot", { user: who.value }).then(function () {
      msg.className = "";
      msg.textContent = tr("forgot_sent");
    }).catch(function (err) { msg.className = "error"; msg.textContent = errText(err); });
  } },
    el("h1", { text: tr("forgot_title") }),
    el("label", { "for": "forgot-who", text: tr("forgot_who") }), who,
    el("p", null, el("button", { type: "submit", text: tr("forgot_send") })), msg,
    el("p", null, el("a", { href: "#/login", text: tr("back") }))));
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
    }).catch(function (err) { msg.textContent = errText(err); });
  } },
    el("h1", { text: tr(purpose === "invite" ? "set_invite" : "set_reset") }), a, b,
    el("p", null, el("button", { type: "submit", text: tr("save_pw") })), msg));
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
    }).catch(function (err) { msg.textContent = errText(err); });
  } },
    el("h1", { text: tr("account") }), el("h2", { text: tr("change_pw") }), cur, a, b,
    el("p", null, el("button", { type: "submit", text: tr("save_pw") })), msg));
}

function viewUsers() {
  return Promise.all([api("GET", "/api/users"), api("GET", "/api/tenants")]).then(function (d) {
    var rows = d[0].users.map(function (u) {
      return el("tr", { "data-user": u.name }, td(u.name), td(tr(u.role)), td(u.tenant || ""),
                td(u.email || ""), td(tr(u.active ? "active" : "pending")),
                td(u.last_login_at ? fmtDateTime(u.last_login_at) : tr("never")));
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
              rows, "users", tr("users"))),
      el("form", { "class": "card narrow", "data-testid": "invite-form", onsubmit: function (e) {
        e.preventDefault();
        msg.className = "";
        msg.textContent = "";
        api("POST", "/api/users/invite", { name: name.value, email: mail.value, role: role.value,
                                           tenant: role.value === "owner" ? shop.value : null })
          .then(function (r) { flash(tr("invited") + r.email, "ok"); return viewUsers(); })
          .catch(function (err) { msg.className = "error"; msg.textContent = errText(err); });
      } },
        el("h2", { text: tr("invite") }),
        el("label", { "for": "inv-name", text: tr("name") }), name,
        el("label", { "for": "inv-email", text: tr("email") }), mail,
        el("label", { "for": "inv-role", text: tr("role") }), role,
        el("label", { "for": "inv-tenant", text: tr("tenant") }), shop,
        el("p", null, el("button", { type: "submit", text: tr("invite_send") })), msg)));
  });
}

/* The texts of index.html itself (the header, the language switch). */
function staticTexts() {
  document.documentElement.lang = LANG;
  document.getElementById("logout").textContent = tr("sign_out");
  var sw = document.getElementById("lang");
  sw.setAttribute("aria-label", tr("lang_group"));
  LANGS.forEach(function (l) {
    var b = document.getElementById("lang-" + l);
    b.setAttribute("aria-pressed", l === LANG ? "true" : "false");
  });
}

function header() {
  var who = document.getElementById("who");
  var out = document.getElementById("logout");
  who.textContent = session ? session.user + " (" + tr(session.role) +
    (session.tenant ? ", " + session.tenant : "") + ")" : "";
  out.hidden = !session;
  document.getElementById("account").hidden = !session;
  document.getElementById("account").textContent = tr("account");
  document.getElementById("users").hidden = !session || session.role !== "operator";
  document.getElementById("users").textContent = tr("users");
}

/* ---- all tenants ----------------------------------------------------------------------- */

/* Why a tenant is in its state, from the status's numbers (the server's state_reason is for
 * connector-admin and in English). */
function stateReason(s) {
  var c = s.counts || {}, x = s.extraction || {};
  switch (s.state) {
  case "disabled": return tr("why_disabled");
  case "needs_consent": return tr("why_consent");
  case "failing": return tr("why_failing", { failed: fmtNum(c.failed || 0), open: fmtNum(c.dead_letters_open || 0) });
  case "lagging": return x.last_extraction ? tr("why_lag", { ago: fmtAgo(x.lag_seconds) }) : tr("why_nothing");
  default: return tr("why_healthy");
  }
}

function failureText(f) {
  return fmtDateTime(f.at) + " · " + trv("stg_", f.stage) + (f.source_id ? " " + f.source_id : "") + ": " + f.message;
}

function viewTenants() {
  return api("GET", "/api/tenants").then(function (d) {
    var rows = d.tenants.map(function (t) {
      var c = t.counts || {};
      var f = (t.failures || [])[0];
      return el("tr", { "data-tenant": t.tenant },
        td(el("a", { href: "#/t/" + enc(t.tenant), text: t.tenant })),
        td([badge(t.state), el("div", { "class": "muted", text: stateReason(t) })]),
        td(t.last_sync ? fmtDateTime(t.last_sync) : tr("never")),
        td(fmtNum(c.extracted), "num"), td(fmtNum(c.transformed), "num"), td(fmtNum(c.loaded), "num"),
        td(fmtNum(c.failed), "num"), td(fmtNum(c.dead_letters_open), "num"),
        td(f ? failureText(f) : ""));
    });
    show(el("section", { "class": "card" }, el("h1", { text: tr("tenants") }),
      table([tr("tenant"), tr("state"), tr("last_sync"), tr("c_extracted"), tr("c_transformed"),
             tr("c_loaded"), tr("c_failed"), tr("c_dead_letters_open"), tr("latest_failure")],
            rows, "tenants", tr("tenants"))));
  });
}

/* ---- one tenant ------------------------------------------------------------------------ */

var TABS = [["", "tab_overview"], ["mappings", "tab_mappings"], ["log", "tab_log"],
            ["deadletters", "tab_deadletters"], ["exact", "tab_exact"], ["preview", "tab_preview"]];

function tenantFrame(t, tab, state, body) {
  return el("section", null,
    el("h1", null, tr("tenant_title", { t: t }) + " ", state ? badge(state) : null),
    el("nav", { "class": "tabs", "aria-label": tr("tabs_label") }, TABS.map(function (x) {
      return el("a", { href: "#/t/" + enc(t) + (x[0] ? "/" + x[0] : ""),
                       "class": x[0] === tab ? "on" : null, "data-tab": x[0] || "overview",
                       "aria-current": x[0] === tab ? "page" : null, text: tr(x[1]) });
    })), body);
}

var COUNTS = ["extracted", "transformed", "loaded", "loaded_entities", "pending", "failed",
              "dead_letters_open"].map(function (k) { return [k, "c_" + k, "num"]; });
var BUDGET = [["daily_limit", "b_daily_limit", "num"], ["used_today", "b_used_today", "num"],
              ["remaining_today", "b_remaining_today", "num"], ["minutely_limit", "b_minutely_limit", "num"],
              ["calls_total", "b_calls_total", "num"], ["rate_limited_total", "b_rate_limited_total", "num"],
              ["blocked_endpoints", "b_blocked_endpoints", "num"], ["parked_until", "b_parked_until", "time"],
              ["parked_reason", "b_parked_reason"]];
var SETTINGS = [["name", "s_name"], ["enabled", "s_enabled", "bool"], ["shop_base_url", "s_shop_base_url"],
                ["shop_public_key", "s_shop_public_key"], ["shop_secret_set", "s_shop_secret_set", "bool"],
                ["sync_entities", "s_sync_entities", "entities"], ["extract_from", "s_extract_from", "date"],
                ["bookable_require_paid", "s_bookable_require_paid", "bool"],
                ["bookable_statuses", "s_bookable_statuses", "list"],
                ["exact_division", "s_exact_division"], ["token_state", "s_token_state", "state"],
                ["mapping_version", "s_mapping_version", "num"], ["created_at", "s_created_at", "time"],
                ["updated_at", "s_updated_at", "time"]];

function viewOverview(t) {
  return api("GET", "/api/tenants/" + enc(t)).then(function (d) {
    var s = d.status;
    var fails = (s.failures || []).map(function (f) {
      return el("tr", null, td(fmtDateTime(f.at)), td(trv("stg_", f.stage)), td(f.source_id), td(f.message));
    });
    show(tenantFrame(t, "", s.state, [
      el("div", { "class": "card" }, el("p", { "data-testid": "state-reason", text: stateReason(s) }),
        el("p", { "class": "muted", text: tr("last_sync") + ": " + (s.last_sync ? fmtDateTime(s.last_sync) : tr("never")) })),
      el("div", { "class": "card" }, el("h2", { text: tr("counts") }), fields(s.counts, COUNTS)),
      el("div", { "class": "card" }, el("h2", { text: tr("extraction") }),
        fields(s.extraction, [["last_extraction", "x_last_extraction", "time", tr("never")]])),
      el("div", { "class": "card" }, el("h2", { text: tr("budget") }), fields(s.budget, BUDGET)),
      el("div", { "class": "card" }, el("h2", { text: tr("latest_failures") }),
        table([tr("h_at"), tr("h_stage"), tr("h_source"), tr("h_message")], fails, "failures",
              tr("latest_failures"))),
      el("div", { "class": "card" }, el("h2", { text: tr("settings") }), fields(d.tenant, SETTINGS))]));
  });
}

/* ---- mappings editor ------------------------------------------------------------------- */

var SCENARIOS = ["domestic", "icp", "export", "oss", "distance_origin"];
var CLASSES = ["", "standard", "reduced", "super_reduced", "parking", "zero"];
var SCALARS = ["shipping_item", "discount_item", "payment_cost_item", "rounding_item", "custom_item",
               "journal", "default_item_group", "default_payment_condition", "vat_number"];

function select(options, value, attrs) {
  var s = el("select", attrs || null, options.map(function (o) {
    var v = Array.isArray(o) ? o[0] : o, label = Array.isArray(o) ? o[1] : (o || "–");
    return el("option", { value: v, selected: v === value ? "selected" : null, text: label });
  }));
  s.value = value === undefined || value === null ? (Array.isArray(options[0]) ? options[0][0] : options[0]) : value;
  return s;
}

/* Options [value, text] of a known set, texts from prefix + value. */
function opts(prefix, values) { return values.map(function (v) { return [v, trv(prefix, v)]; }); }

var vatRows = 0;
function vatRow(c) {
  var n = ++vatRows;
  var lab = function (k) { return tr(k) + ", " + tr("row_n", { n: n }); };
  var pct = el("input", { "data-f": "percentage", inputmode: "decimal", "aria-label": lab("percentage"),
                          value: c.percentage === undefined ? "" : String(c.percentage) });
  return el("tr", { "class": "vat" },
    td(el("input", { "data-f": "code", "aria-label": lab("vat_code"), value: c.code || "" })),
    td(select(opts("scn_", SCENARIOS), c.scenario || "domestic", { "data-f": "scenario", "aria-label": lab("scenario") })),
    td(el("input", { "data-f": "country", maxlength: "2", size: "3", "aria-label": lab("country"), value: c.country || "" })),
    td(select(opts("cls_", CLASSES), c["class"] || "", { "data-f": "class", "aria-label": lab("vat_class") })),
    td(el("span", { "class": "pct" }, pct, el("span", { "class": "muted", "aria-hidden": "true", text: "%" }))),
    td(el("button", { type: "button", "class": "danger", text: tr("remove"), "aria-label": lab("remove"),
                      onclick: function (e) { e.target.closest("tr").remove(); } })));
}

function mapRows(obj, keyLabel) {
  return Object.keys(obj || {}).map(function (k) { return mapRow(k, obj[k], keyLabel); });
}

var mapRowsN = 0;
function mapRow(k, v, keyLabel) {
  var n = ++mapRowsN;
  var lab = function (s) { return s + ", " + tr("row_n", { n: n }); };
  return el("tr", { "class": "pair" },
    td(el("input", { "data-f": "key", "aria-label": lab(keyLabel), value: k })),
    td(el("input", { "data-f": "value", "aria-label": lab(tr("exact_code")), value: v })),
    td(el("button", { type: "button", "class": "danger", text: tr("remove"), "aria-label": lab(tr("remove")),
                      onclick: function (e) { e.target.closest("tr").remove(); } })));
}

function mapEditor(name, obj) {
  var keyLabel = tr("key_" + name);
  var body = el("tbody", { "data-map": name }, mapRows(obj, keyLabel));
  return el("div", { "class": "card" }, el("h2", { text: tr("map_" + name) }),
    table([keyLabel, tr("exact_code"), ""], body, null, tr("map_" + name)),
    el("p", null, el("button", { type: "button", "class": "secondary", text: tr("add"),
                                 onclick: function () { body.appendChild(mapRow("", "", keyLabel)); } })));
}

/* The validator's messages ("rules: home_country XX is not an EU member state") name the
 * members: the page names the field's label (and the row) instead, and in Dutch says the
 * common ones in Dutch. */
var RULE_LABELS = { division: "m_division", home_country: "m_home", book_as: "m_book_as",
                    oss_mode: "m_oss", prices_shown: "m_prices", vies_policy: "m_vies",
                    vat_codes: "vat_title", item_groups: "map_item_groups",
                    payment_conditions: "map_payment_conditions", gl_accounts: "map_gl_accounts" };
SCALARS.forEach(function (s) { RULE_LABELS[s] = "sc_" + s; });
var VAT_FIELDS = { code: "vat_code", scenario: "scenario", country: "country", "class": "vat_class",
                   percentage: "percentage" };
var RULE_PHRASES_NL = [[/is not an EU member state/, "is geen EU-lidstaat"],
                       [/must be a two-letter country code/, "moet een landcode van twee letters zijn"],
                       [/must be a non-empty string/, "moet ingevuld zijn"],
                       [/must be a positive integer/, "moet een positief geheel getal zijn"],
                       [/must be a string/, "moet tekst zijn"],
                       [/must be a non-empty array/, "heeft minstens één regel nodig"]];

function ruleError(err) {
  var m = errText(err).replace(/^rules: /, "");
  var x = /^"?([a-z_]+)"?(?:\[(\d+)\])?(?:\.([a-z_]+))?:? */.exec(m);
  if (!x || !RULE_LABELS[x[1]]) return m;
  var label = tr(RULE_LABELS[x[1]]);
  if (x[2] !== undefined) label += ", " + tr("row_n", { n: Number(x[2]) + 1 });
  if (x[3] && VAT_FIELDS[x[3]]) label += ", " + tr(VAT_FIELDS[x[3]]);
  var rest = m.slice(x[0].length);
  if (LANG === "nl") RULE_PHRASES_NL.forEach(function (p) { rest = rest.replace(p[0], p[1]); });
  return label + ": " + rest;
}

function viewMappings(t) {
  return Promise.all([api("GET", "/api/tenants/" + enc(t) + "/mappings"),
                      api("GET", "/api/tenants/" + enc(t))]).then(function (res) {
    var rules = res[0].rules || { tenant: t, division: res[1].tenant.exact_division || 0,
                                  home_country: "NL", book_as: "salesorder", vat_codes: [] };
    var version = res[0].version;
    var f = {};
    var msg = el("p", { role: "status", "data-testid": "mapping-result" });
    var stored = el("p", { "class": "muted", "data-testid": "mapping-version",
                           text: version ? tr("m_version", { v: version }) : tr("m_none_yet") });
    var vatBody = el("tbody", { "data-testid": "vat-codes" }, (rules.vat_codes || []).map(vatRow));
    f.division = el("input", { id: "m-division", inputmode: "numeric", value: String(rules.division || "") });
    f.home_country = el("input", { id: "m-home", maxlength: "2", value: rules.home_country || "NL" });
    f.book_as = select(opts("book_", ["salesorder", "salesinvoice"]), rules.book_as || "salesorder", { id: "m-book-as" });
    f.oss_mode = select([["registered", tr("oss_registered")], ["not_registered", tr("oss_not_registered")],
                         ["auto", tr("oss_auto", { amount: fmtMoney(10000).replace(/[.,]00$/, "") })]],
                        rules.oss_mode || (rules.oss_registered ? "registered" : "not_registered"),
                        { id: "m-oss-mode" });
    f.prices_shown = select(opts("prices_", ["incl", "excl"]), rules.prices_shown || "incl", { id: "m-prices" });
    f.vies_policy = select(opts("vp_", ["recheck", "hold", "domestic", "off"]), rules.vies_policy || "recheck",
                           { id: "m-vies-policy" });
    var scalars = SCALARS.map(function (s) {
      f[s] = el("input", { id: "m-" + s, value: rules[s] || "" });
      return el("div", null, el("label", { "for": "m-" + s, text: tr("sc_" + s) }), f[s]);
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
        var v = f[s].value.trim();
        if (v) out[s] = v; else delete out[s];
      });
      out.vat_codes = Array.prototype.map.call(vatBody.querySelectorAll("tr.vat"), function (row) {
        var c = {};
        row.querySelectorAll("[data-f]").forEach(function (i) {
          var v = i.value.trim();
          if (!v) return;
          if (i.dataset.f === "percentage") {
            var n = Number(v.replace(",", "."));
            c.percentage = isNaN(n) ? v : n;
          } else if (i.dataset.f === "country") c.country = v.toUpperCase();
          else c[i.dataset.f] = v;
        });
        return c;
      });
      document.querySelectorAll("tbody[data-map]").forEach(function (tb) {
        var m = {};
        tb.querySelectorAll("tr.pair").forEach(function (row) {
          var k = row.querySelector("[data-f=key]").value.trim();
          var v = row.querySelector("[data-f=value]").value.trim();
          if (k) m[k] = v;
        });
        out[tb.dataset.map] = m;
      });
      return out;
    }

    function send(check) {
      msg.className = "";
      msg.textContent = tr(check ? "checking" : "saving");
      var path = "/api/tenants/" + enc(t) + "/mappings" + (check ? "/check" : "");
      return api(check ? "POST" : "PUT", path, collect()).then(function (r) {
        msg.className = "ok";
        if (check) {
          msg.textContent = tr("rules_valid");
        } else {
          version = r.version;
          stored.textContent = tr("m_version", { v: version });
          msg.textContent = tr("saved", { v: r.version });
          flash(tr("saved_flash", { v: r.version }), "ok");
        }
      }).catch(function (err) {
        msg.className = "error";
        msg.textContent = ruleError(err);
      });
    }

    var field = function (id, key, input) {
      return el("div", null, el("label", { "for": id, text: tr(key) }), input);
    };
    show(tenantFrame(t, "mappings", null, el("form", { "data-testid": "mappings", onsubmit: function (e) {
      e.preventDefault();
      send(false);
    } },
      el("div", { "class": "card" },
        stored,
        el("div", { "class": "row" },
          field("m-division", "m_division", f.division), field("m-home", "m_home", f.home_country),
          field("m-book-as", "m_book_as", f.book_as), field("m-oss-mode", "m_oss", f.oss_mode),
          field("m-prices", "m_prices", f.prices_shown), field("m-vies-policy", "m_vies", f.vies_policy)),
        el("div", { "class": "row" }, scalars)),
      el("div", { "class": "card" }, el("h2", { text: tr("vat_title") }),
        table([tr("vat_code"), tr("scenario"), tr("country"), tr("vat_class"), tr("percentage"), ""],
              vatBody, null, tr("vat_title")),
        el("p", null, el("button", { type: "button", "class": "secondary", "data-testid": "add-vat",
                                     text: tr("add_vat"),
                                     onclick: function () { vatBody.appendChild(vatRow({})); } }))),
      mapEditor("item_groups", rules.item_groups),
      mapEditor("payment_conditions", rules.payment_conditions),
      mapEditor("gl_accounts", rules.gl_accounts),
      el("div", { "class": "card" },
        el("div", { "class": "row" },
          el("button", { type: "button", "class": "secondary", text: tr("check"), onclick: function () { send(true); } }),
          el("button", { type: "submit", "data-testid": "save-mappings", text: tr("save") })),
        msg))));
  });
}

/* ---- sync log -------------------------------------------------------------------------- */

/* The VAT engine's review warnings and the VIES consultation of an order (sync log, preview). */
function reviewOf(warnings) {
  return warnings && warnings.length ?
    el("p", { "class": "error", "data-testid": "review-warnings",
              text: tr("review", { w: warnings.map(function (w) { return w.replace(/^review: /, ""); }).join("; ") }) }) : null;
}
function viesOf(v) {
  if (!v) return null;
  var parts = [tr("vies_line", { nr: v.vat_number, outcome: trv("vo_", v.outcome) })];
  if (v.error) parts.push(trv("ve_", v.error));
  if (v.consultation) parts.push(tr("vies_consult", { c: v.consultation }));
  if (v.date) parts.push(fmtDate(String(v.date).slice(0, 10)));
  if (v.outcome === "unavailable" && v.policy) parts.push(tr("vies_policy", { p: trv("vp_", v.policy) }));
  return el("p", { "class": v.outcome === "valid" ? "muted" : "error", "data-testid": "vies-consultation",
                   text: parts.join(" · ") });
}

/* Sync-log entities whose source id is a shop order (the preview takes it). */
var ORDER_ENTITIES = { order: 1, sales_order: 1, sales_invoice: 1 };
var LOG_ENTITIES = ["", "order", "product", "customer", "sales_order", "sales_invoice", "account", "item",
                    "payment"];

/* A dead letter's sync-log line names the Kafka topic as its entity ("…shop.orders"): the
 * page shows, filters and links it as what it is (an order). */
function logEntity(e) {
  var m = /(^|\.)shop\.(orders|products|customers)$/.exec(e || "");
  return m ? m[2].replace(/s$/, "") : e;
}

/* The transformer's line for a booked order ("salesorder/SalesOrders: domestic, gross 121.00,
 * 1 line(s); warning: …; VIES …") in the page's words; the warnings and the VIES consultation
 * are shown under it (reviewOf, viesOf), so they leave the line. */
function logMessage(e) {
  var m = e.message || "";
  var cut = m.indexOf("; ");
  var head = cut < 0 ? m : m.slice(0, cut), tail = cut < 0 ? "" : m.slice(cut);
  (e.warnings || []).forEach(function (w) { tail = tail.replace("; warning: " + w, ""); });
  if (e.vies) tail = tail.replace(/; VIES .*$/, "");
  var x = /^(salesorder\/SalesOrders|salesinvoice\/SalesInvoices): ([a-z_]+), gross (-?\d+\.\d\d), (\d+) line\(s\)$/.exec(head);
  if (x) {
    head = tr("msg_booked", { kind: tr(/invoice/.test(x[1]) ? "book_salesinvoice" : "book_salesorder"),
                              scenario: trv("scn_", x[2]), gross: fmtMoney(x[3]), n: fmtNum(x[4]) });
  }
  return head + tail;
}

function previewLink(t, id, text) {
  return el("a", { href: "#/t/" + enc(t) + "/preview?order_id=" + enc(id), "data-testid": "preview-link",
                   text: text || id });
}

function viewLog(t, params) {
  var q = new URLSearchParams(params || "");
  var form = el("form", { "class": "card", "data-testid": "log-filter" });
  var entities = LOG_ENTITIES.slice();
  if (q.get("entity") && entities.indexOf(q.get("entity")) < 0) entities.push(q.get("entity"));
  var any = function (prefix, values) {
    return values.map(function (v) { return [v, v ? trv(prefix, v) : tr("all")]; });
  };
  var fields = {
    q: el("input", { name: "q", placeholder: tr("search_hint"), value: q.get("q") || "" }),
    status: select(any("st_", ["", "ok", "failed", "skipped", "info"]), q.get("status") || "", { name: "status" }),
    stage: select(any("stg_", ["", "extract", "transform", "load", "admin"]), q.get("stage") || "", { name: "stage" }),
    entity: select(any("ent_", entities), q.get("entity") || "", { name: "entity" }),
    since: el("input", { name: "since", type: "date", value: q.get("since") || "" }),
    until: el("input", { name: "until", type: "date", value: q.get("until") || "" })
  };
  var labels = { q: "search", status: "f_status", stage: "f_stage", entity: "f_entity", since: "f_since", until: "f_until" };
  add(form, el("div", { "class": "row" }, Object.keys(fields).map(function (k) {
    fields[k].id = "log-" + k;
    return el("div", null, el("label", { "for": "log-" + k, text: tr(labels[k]) }), fields[k]);
  }), el("button", { type: "submit", text: tr("filter") })));
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var p = new URLSearchParams();
    Object.keys(fields).forEach(function (k) { if (fields[k].value) p.set(k, fields[k].value); });
    location.hash = "#/t/" + enc(t) + "/log?" + p.toString();
  });
  var body = el("tbody");
  var more = el("button", { type: "button", "class": "secondary", text: tr("older"), hidden: true });
  var none = el("p", { "class": "muted", text: tr("log_empty"), hidden: true });
  function load(before) {
    var p = new URLSearchParams(q.toString());
    if (before) p.set("before", before);
    p.set("limit", "100");
    return api("GET", "/api/tenants/" + enc(t) + "/log?" + p.toString()).then(function (d) {
      d.entries.forEach(function (e) {
        var entity = logEntity(e.entity);
        var order = e.source_id && ORDER_ENTITIES[entity];
        var msg = el("td", null, logMessage(e), reviewOf(e.warnings), viesOf(e.vies),
                     order && e.status === "failed" ?
                       el("p", null, previewLink(t, e.source_id, tr("preview_link"))) : null);
        body.appendChild(el("tr", { "data-status": e.status }, td(fmtDateTime(e.at)), td(trv("stg_", e.stage)),
          td(trv("ent_", entity)), td(order ? previewLink(t, e.source_id) : e.source_id),
          td(badge(e.status)), msg, td(el("span", { "class": "muted", text: e.trace_id || "" }))));
      });
      none.hidden = body.children.length > 0;
      more.hidden = !d.next_before;
      more.onclick = function () { load(d.next_before); };
    });
  }
  show(tenantFrame(t, "log", null, [form, el("div", { "class": "card" },
    table([tr("h_at"), tr("h_stage"), tr("h_entity"), tr("h_source"), tr("h_status"), tr("h_message"),
           tr("h_trace")], body, "log", tr("tab_log")), none, more)]));
  return load(null);
}

/* ---- dead letters ---------------------------------------------------------------------- */

/* What a dead letter is, in a shop owner's words (not its Kafka topic): "Bestelling 8001". */
function letterWhat(x) {
  var m = /shop\.(orders|products|customers)$/.exec(x.source_topic || "");
  var kind = m ? tr("ent_" + m[1].replace(/s$/, "")) : tr("booking");
  return kind + (x.source_id ? " " + x.source_id : "");
}

function viewDeadLetters(t, params) {
  var q = new URLSearchParams(params || "");
  var state = select([["open", tr("dl_open")], ["redriven", tr("dl_redriven")], ["dropped", tr("dl_dropped")],
                      ["", tr("all")]], q.has("state") ? q.get("state") : "open",
                     { id: "dl-state", "data-testid": "dl-state" });
  state.addEventListener("change", function () {
    location.hash = "#/t/" + enc(t) + "/deadletters?state=" + enc(state.value);
  });
  var path = "/api/tenants/" + enc(t) + "/deadletters" + (state.value ? "?state=" + enc(state.value) : "");
  return api("GET", path).then(function (d) {
    var rows = d.dead_letters.map(function (x) {
      var actions = el("td");
      var what = letterWhat(x);
      var payload = el("pre", { hidden: true, tabindex: "0" });
      if (x.state === "open") {
        add(actions, el("button", { type: "button", "data-testid": "redrive", text: tr("retry"),
                                    "aria-label": tr("retry") + ": " + what, onclick: function (e) {
          e.target.disabled = true;
          api("POST", path.split("?")[0] + "/" + x.id + "/redrive").then(function () {
            flash(tr("resent", { what: what }), "ok");
            return viewDeadLetters(t, params);
          }).catch(function (err) { e.target.disabled = false; flash(errText(err), "error"); });
        } }));
        if (session && session.role === "operator") {
          add(actions, " ", el("button", { type: "button", "class": "danger", text: tr("drop"),
                                           "aria-label": tr("drop") + ": " + what, onclick: function () {
            var reason = prompt(tr("drop_why", { what: what }));
            if (!reason) return;
            api("POST", path.split("?")[0] + "/" + x.id + "/drop", { reason: reason }).then(function () {
              flash(tr("dropped_flash", { what: what }), "ok");
              return viewDeadLetters(t, params);
            }).catch(function (err) { flash(errText(err), "error"); });
          } }));
        }
      }
      add(actions, " ", el("button", { type: "button", "class": "secondary", text: tr("payload"),
                                       "aria-label": tr("payload") + ": " + what, onclick: function () {
        api("GET", path.split("?")[0] + "/" + x.id).then(function (full) {
          payload.textContent = full.payload;
          payload.hidden = !payload.hidden;
        }).catch(function (err) { flash(errText(err), "error"); });
      } }));
      if (x.source_id && /shop\.orders$/.test(x.source_topic)) {
        add(actions, " ", previewLink(t, x.source_id, tr("preview")));
      }
      return el("tr", { "data-id": String(x.id) }, td(fmtNum(x.id), "num"), td(fmtDateTime(x.created_at)),
        td(trv("stg_", x.stage)), td(what), td([el("div", { text: x.reason }), payload]),
        td(badge(x.state)), actions);
    });
    show(tenantFrame(t, "deadletters", null, el("div", { "class": "card" },
      el("div", { "class": "row" }, el("div", null, el("label", { "for": "dl-state", text: tr("show") }), state)),
      table([tr("h_id"), tr("h_created"), tr("h_stage"), tr("h_source"), tr("h_reason"), tr("h_status"), ""],
            rows, "dead-letters", tr("tab_deadletters")),
      rows.length ? null : el("p", { "class": "muted", text: tr("dl_empty") }))));
  });
}

/* ---- Exact connection ------------------------------------------------------------------ */

var EXACT = [["exact_division", "s_exact_division"], ["exact_base_url", "s_exact_base_url"],
             ["exact_client_id", "s_exact_client_id"], ["exact_client_secret_set", "s_exact_client_secret_set", "bool"],
             ["exact_redirect_uri", "s_exact_redirect_uri"], ["token_expires_at", "s_token_expires_at", "time"],
             ["panel_callback", "s_panel_callback"]];

function viewExact(t) {
  return api("GET", "/api/tenants/" + enc(t) + "/exact").then(function (d) {
    var msg = el("p", { "class": "error", role: "alert" });
    var ok = d.token_state === "ok";
    show(tenantFrame(t, "exact", null, el("div", { "class": "card" },
      el("p", null, tr("connection"), badge(ok ? "ok" : "needs_consent", ok ? tr("st_connected") : null),
        " ", el("span", { "class": "muted", "data-testid": "token-reason", text: d.token_reason || "" })),
      fields(d, EXACT),
      el("p", null, el("button", { type: "button", "data-testid": "connect", text: tr("connect"),
        onclick: function (e) {
          e.target.disabled = true;
          api("POST", "/api/tenants/" + enc(t) + "/exact/connect").then(function (r) {
            location.href = r.url;
          }).catch(function (err) { e.target.disabled = false; msg.textContent = errText(err); });
        } })), msg)));
  });
}

/* ---- booking preview ------------------------------------------------------------------- */

function viewPreview(t, params) {
  var q = new URLSearchParams(params || "");
  var id = el("input", { id: "p-order-id", inputmode: "numeric", value: q.get("order_id") || "" });
  var text = el("textarea", { id: "p-order", placeholder: "{\"id\": 1, ..., \"orderrows\": [...]}" });
  var out = el("div", { "data-testid": "preview-result", "aria-live": "polite" });
  function run() {
    var body;
    out.textContent = tr("working");
    if (text.value.trim()) {
      try { body = { order: JSON.parse(text.value) }; } catch (e) {
        out.textContent = "";
        add(out, el("p", { "class": "error", text: tr("not_json", { m: e.message }) }));
        return;
      }
    } else {
      body = { order_id: id.value.trim() };
    }
    api("POST", "/api/tenants/" + enc(t) + "/preview", body).then(function (d) {
      var r = d.result;
      out.textContent = "";
      if (r.error) {
        add(out, el("p", { "class": "error", "data-testid": "preview-error", text: tr("rejected", { m: r.error }) }));
        return;
      }
      if (r.held) {
        add(out, [el("p", { "class": "error", "data-testid": "preview-held", text: tr("held", { m: r.held }) }),
                  viesOf(r.vies)]);
        return;
      }
      var invoice = !!r.body.SalesInvoiceLines || /invoice/i.test(r.endpoint || "");
      var lines = (r.body.SalesOrderLines || r.body.SalesInvoiceLines || []).map(function (l) {
        return el("tr", null, td(l.Item), td(l.Description), td(fmtNum(l.Quantity), "num"),
                  td(fmtMoney(l.NetPrice), "num"), td(l.VATCode), td(fmtFraction(l.VATPercentage), "num"));
      });
      add(out, [
        el("p", { "data-testid": "preview-summary",
                  text: tr("summary", { id: r.source_id, scenario: trv("scn_", r.scenario),
                                        kind: tr(invoice ? "book_salesinvoice" : "book_salesorder"),
                                        net: fmtMoney(r.totals.net), vat: fmtMoney(r.totals.vat),
                                        gross: fmtMoney(r.totals.gross) }) }),
        el("p", { "class": "muted", text: trv("source_", d.order_source) + ", " + tr("rules_version", { v: d.rules_version }) }),
        table([tr("l_item"), tr("l_desc"), tr("l_qty"), tr("l_net"), tr("l_vat_code"), tr("l_vat")], lines,
              "preview-lines", tr("preview")),
        reviewOf(r.warnings),
        viesOf(r.vies),
        el("details", { "data-testid": "support-details" }, el("summary", { text: tr("support_details") }),
          el("p", { "class": "muted", text: tr("support_body") }),
          el("pre", { tabindex: "0", text: JSON.stringify(r.body, null, 2) }))]);
    }).catch(function (err) {
      out.textContent = "";
      add(out, el("p", { "class": "error", role: "alert", "data-testid": "preview-error", text: errText(err) }));
    });
  }
  show(tenantFrame(t, "preview", null, [el("form", { "class": "card", onsubmit: function (e) { e.preventDefault(); run(); } },
    el("p", { "class": "muted", text: tr("preview_intro") }),
    el("label", { "for": "p-order-id", text: tr("order_id") }), id,
    el("label", { "for": "p-order", text: tr("order_json") }), text,
    el("p", null, el("button", { type: "submit", "data-testid": "run-preview", text: tr("preview") }))),
    el("div", { "class": "card" }, out)]));
  if (id.value) run();
}

/* ---- routing --------------------------------------------------------------------------- */

/* Screens other scripts add (wizard.js): ROUTES[first path segment] = function (parts, params). */
var ROUTES = {};

function route() {
  var h = location.hash.replace(/^#/, "") || "/";
  var qpos = h.indexOf("?");
  var params = qpos >= 0 ? h.slice(qpos + 1) : "";
  var parts = (qpos >= 0 ? h.slice(0, qpos) : h).split("/").filter(Boolean).map(decodeURIComponent);
  var open = { login: 1, forgot: 1, invite: 1, reset: 1 }; /* no session needed */
  focusHeading = true;
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
  if (ROUTES[parts[0]]) {
    p = ROUTES[parts[0]](parts, params);
  } else if (parts[0] === "t" && parts[1]) {
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
    show(el("div", { "class": "card" }, el("h1", { text: tr("app_title") }),
      el("p", { "class": "error", role: "alert", "data-testid": "page-error", text: errText(err) })));
  });
}

/* Started once every script of the page ran, so that wizard.js's texts and routes are in. */
function start() {
  document.getElementById("logout").addEventListener("click", function () {
    api("POST", "/api/logout").catch(function () {}).then(function () {
      session = null;
      header();
      location.hash = "#/login";
    });
  });
  LANGS.forEach(function (l) {
    document.getElementById("lang-" + l).addEventListener("click", function () { if (l !== LANG) setLang(l); });
  });
  window.addEventListener("hashchange", function () { flash(""); route(); });
  staticTexts();
  route();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
