/* visrec widget: <visrec-similar item-id="..."> and <visrec-for-you> carousels. No dependencies.
 * Embed: <script src="https://YOUR-VISREC/widget.js" data-key="READ_KEY" async></script>
 * Theme with CSS custom properties (--visrec-*) and ::part(item|link|image|title|price|heading|nav). */
(() => {
  "use strict";
  if (customElements.get("visrec-similar")) return;
  const me = document.currentScript;
  const BASE = me && me.src ? new URL(".", me.src).href.replace(/\/$/, "") : location.origin;
  const KEY = me && me.dataset.key || "";
  const store = (() => { try { localStorage.setItem("visrec:t", "1"); localStorage.removeItem("visrec:t"); return localStorage; } catch (e) { return null; } })();
  const mem = {};
  const get = (k) => store ? store.getItem(k) : mem[k] ?? null;
  const put = (k, v) => { if (store) { try { store.setItem(k, v); } catch (e) { /* full */ } } else mem[k] = v; };
  const uid = () => (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2)).replace(/-/g, "");

  function visitorId() {
    let v = get("visrec:visitor");
    if (!v) { v = "v" + uid(); put("visrec:visitor", v); }
    return v;
  }
  function viewed() {
    try { const a = JSON.parse(get("visrec:viewed") || "[]"); return Array.isArray(a) ? a.filter((x) => typeof x === "string") : []; } catch (e) { return []; }
  }
  /** Record that the visitor viewed an item (the session "you may like" lists start from). */
  function view(itemId) {
    if (!itemId) return;
    const a = viewed().filter((x) => x !== itemId);
    a.push(String(itemId));
    put("visrec:viewed", JSON.stringify(a.slice(-20)));
    window.dispatchEvent(new CustomEvent("visrec:viewed", { detail: { item_id: String(itemId) } }));
  }

  // -- events: impressions batched, clicks sent at once; sendBeacon survives leaving the page --------
  const queue = [];
  let timer = 0;
  function send(api, key, events) {
    if (!events.length) return;
    const url = api + "/v1/events" + (key ? "?key=" + encodeURIComponent(key) : "");
    const body = JSON.stringify(events.length === 1 ? events[0] : { events: events });
    if (navigator.sendBeacon && navigator.sendBeacon(url, body)) return;
    fetch(url, { method: "POST", body: body, keepalive: true, headers: { "Content-Type": "text/plain" } }).catch(() => {});
  }
  function flush() {
    clearTimeout(timer); timer = 0;
    const by = new Map();
    for (const q of queue.splice(0)) {
      const k = q.api + "\n" + q.key;
      if (!by.has(k)) by.set(k, { api: q.api, key: q.key, events: [] });
      by.get(k).events.push(q.event);
    }
    for (const g of by.values()) for (let i = 0; i < g.events.length; i += 500) send(g.api, g.key, g.events.slice(i, i + 500));
  }
  function enqueue(api, key, event) {
    queue.push({ api: api, key: key, event: event });
    if (!timer) timer = setTimeout(flush, 1000);
  }
  addEventListener("pagehide", flush);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") flush(); });

  const CSS = `
:host{display:block;font-family:var(--visrec-font,inherit);color:var(--visrec-color,inherit);min-height:var(--visrec-min-height,1px)}
:host([hidden]){display:none}
h2{font-size:var(--visrec-heading-size,1.15rem);font-weight:600;margin:0 0 .6rem}
.wrap{position:relative}
ul{list-style:none;margin:0;padding:2px;display:flex;gap:var(--visrec-gap,14px);overflow-x:auto;scroll-snap-type:x mandatory;scroll-behavior:smooth;scrollbar-width:thin}
ul:focus-visible{outline:2px solid var(--visrec-accent,#111);outline-offset:2px}
li{flex:0 0 var(--visrec-card-width,160px);scroll-snap-align:start}
a{display:block;color:inherit;text-decoration:none;border-radius:var(--visrec-radius,10px)}
a:focus-visible{outline:2px solid var(--visrec-accent,#111);outline-offset:2px}
img,.ph{display:block;width:100%;aspect-ratio:var(--visrec-image-ratio,1);object-fit:cover;border-radius:var(--visrec-radius,10px);background:var(--visrec-image-bg,#f2f2f2)}
.ph{animation:p 1.2s ease-in-out infinite alternate}@keyframes p{to{opacity:.45}}
.t{display:block;font-size:.9rem;margin-top:.4rem;line-height:1.25;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.p{display:block;font-size:.9rem;font-weight:600;color:var(--visrec-price-color,inherit);margin-top:.15rem}
button{position:absolute;top:35%;width:2.2rem;height:2.2rem;border-radius:50%;border:1px solid #ddd;background:var(--visrec-nav-bg,#fff);color:inherit;cursor:pointer;font-size:1.1rem;box-shadow:0 1px 4px #0002}
button[disabled]{display:none}
.prev{left:-.6rem}.next{right:-.6rem}
@media (prefers-reduced-motion:reduce){ul{scroll-behavior:auto}.ph{animation:none}}`;

  class Carousel extends HTMLElement {
    static get observedAttributes() { return ["item-id", "user-id", "limit", "mode", "category"]; }
    constructor() {
      super();
      this.attachShadow({ mode: "open" });
      this._seen = new Set();
      this._gen = 0;
      this.rec = null;
    }
    get api() { return (this.getAttribute("api") || BASE).replace(/\/$/, ""); }
    get key() { return this.getAttribute("key") || KEY; }
    get limit() { const n = parseInt(this.getAttribute("limit") || "8", 10); return n > 0 && n <= 50 ? n : 8; }
    connectedCallback() {
      if (!this._started) this._skeleton();
      if (this._io) return;
      this._io = new IntersectionObserver((es) => {
        if (es.some((e) => e.isIntersecting)) { this._io.disconnect(); this._visible = true; this.refresh(); }
      }, { rootMargin: "200px" });
      this._io.observe(this);
    }
    disconnectedCallback() { if (this._io) { this._io.disconnect(); this._io = null; } if (this._cards) this._cards.disconnect(); }
    attributeChangedCallback(name, a, b) { if (a !== b && this._visible) this.refresh(); }

    _skeleton() {
      this.shadowRoot.innerHTML = `<style>${CSS}</style><h2 part="heading"></h2><ul>${"<li><div class=ph></div></li>".repeat(Math.min(this.limit, 6))}</ul>`;
      this.shadowRoot.querySelector("h2").textContent = this.heading();
    }
    heading() { return this.getAttribute("heading") || this.defaultHeading; }
    _headers(json) {
      const h = {};
      if (this.key) h["X-API-Key"] = this.key;
      if (json) h["Content-Type"] = "application/json";
      return h;
    }
    _query() {
      const q = new URLSearchParams({ k: String(this.limit), visitor_id: visitorId() });
      for (const c of (this.getAttribute("category") || "").split(",").filter(Boolean)) q.append("category", c.trim());
      return q;
    }
    async _get(path, q) {
      const r = await fetch(this.api + path + "?" + q, { headers: this._headers(false), credentials: "omit" });
      if (!r.ok) throw new Error("visrec: " + r.status + " " + path);
      return r.json();
    }
    async _post(path, body) {
      const r = await fetch(this.api + path, { method: "POST", body: JSON.stringify(body), headers: this._headers(true), credentials: "omit" });
      if (!r.ok) throw new Error("visrec: " + r.status + " " + path);
      return r.json();
    }
    /** Fetch and render the list again (e.g. after a view). */
    async refresh() {
      const gen = ++this._gen;
      const t0 = performance.now();
      this._started = true;
      let rec;
      try { rec = await this.load(); } catch (e) { rec = null; this._error = e; }
      if (gen !== this._gen) return;
      if (!rec || !Array.isArray(rec.items) || !rec.items.length) {
        this.hidden = true;
        this.dispatchEvent(new CustomEvent("visrec:empty", { bubbles: true, composed: true, detail: { error: this._error ? String(this._error.message) : null } }));
        return;
      }
      this.rec = rec;
      this.hidden = false;
      this._render(rec);
      this.dispatchEvent(new CustomEvent("visrec:render", { bubbles: true, composed: true, detail: { rec_id: rec.rec_id, variant: rec.variant, items: rec.items.map((x) => x.item_id), ms: performance.now() - t0 } }));
    }
    _image(item) {
      const u = item.image_url;
      if (u && /^https?:\/\//.test(u)) return u;
      const src = u && u.startsWith("/") ? this.api + u : this.api + "/v1/items/" + encodeURIComponent(item.item_id) + "/image";
      return src + (src.includes("?") ? "&" : "?") + "size=" + (this.getAttribute("image-size") || "256");
    }
    _href(item) {
      const t = this.getAttribute("item-href");
      return t ? t.replace("{id}", encodeURIComponent(item.item_id)) : "#" + encodeURIComponent(item.item_id);
    }
    _render(rec) {
      const root = this.shadowRoot;
      root.innerHTML = `<style>${CSS}</style><h2 part="heading"></h2><div class=wrap><ul tabindex=0></ul><button class=prev part=nav aria-label="Previous items">&#8249;</button><button class=next part=nav aria-label="Next items">&#8250;</button></div>`;
      root.querySelector("h2").textContent = this.heading();
      const ul = root.querySelector("ul");
      ul.setAttribute("aria-label", this.heading());
      const fmt = new Intl.NumberFormat(this.getAttribute("locale") || undefined, { style: "currency", currency: this.getAttribute("currency") || "EUR" });
      rec.items.forEach((item, pos) => {
        const li = document.createElement("li");
        li.setAttribute("part", "item");
        li.dataset.itemId = item.item_id;
        li.dataset.position = String(pos);
        const a = document.createElement("a");
        a.setAttribute("part", "link");
        a.href = this._href(item);
        const img = document.createElement("img");
        img.setAttribute("part", "image");
        img.loading = "lazy";
        img.decoding = "async";
        img.alt = item.title || item.item_id;
        img.src = this._image(item);
        img.onerror = () => { li.remove(); if (!ul.children.length) this.hidden = true; };
        const t = document.createElement("span");
        t.className = "t"; t.setAttribute("part", "title"); t.textContent = item.title || item.item_id;
        a.append(img, t);
        if (typeof item.price === "number") {
          const p = document.createElement("span");
          p.className = "p"; p.setAttribute("part", "price"); p.textContent = fmt.format(item.price);
          a.append(p);
        }
        a.addEventListener("click", (ev) => this._click(ev, item, pos));
        li.append(a);
        ul.append(li);
      });
      const prev = root.querySelector(".prev"), next = root.querySelector(".next");
      const step = () => (ul.firstElementChild ? ul.firstElementChild.getBoundingClientRect().width + 14 : 160);
      const nav = () => { prev.disabled = ul.scrollLeft <= 2; next.disabled = ul.scrollLeft + ul.clientWidth >= ul.scrollWidth - 2; };
      prev.onclick = () => ul.scrollBy({ left: -step() * 2 });
      next.onclick = () => ul.scrollBy({ left: step() * 2 });
      ul.addEventListener("scroll", nav, { passive: true });
      ul.addEventListener("keydown", (e) => {
        if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
          e.preventDefault();
          const links = [...ul.querySelectorAll("a")];
          const i = links.indexOf(root.activeElement);
          const j = Math.max(0, Math.min(links.length - 1, i + (e.key === "ArrowRight" ? 1 : -1)));
          links[i < 0 ? 0 : j].focus();
          links[i < 0 ? 0 : j].scrollIntoView({ block: "nearest", inline: "nearest" });
        }
      });
      requestAnimationFrame(nav);
      this._watch(ul, rec);
    }
    _who() { const u = this.getAttribute("user-id"); return u ? { user_id: u } : { visitor_id: visitorId() }; }
    _event(type, item, pos, rec) {
      return Object.assign({ type: type, event_id: type === "impression" ? rec.rec_id + ":" + pos : uid(), rec_id: rec.rec_id, variant: rec.variant || null, item_id: item, position: pos }, this._who());
    }
    _watch(ul, rec) {
      if (this._cards) this._cards.disconnect();
      this._cards = new IntersectionObserver((es) => {
        for (const e of es) {
          if (!e.isIntersecting) continue;
          const li = e.target, id = li.dataset.itemId, pos = +li.dataset.position, k = rec.rec_id + ":" + pos;
          this._cards.unobserve(li);
          if (this._seen.has(k)) continue;
          this._seen.add(k);
          enqueue(this.api, this.key, this._event("impression", id, pos, rec));
        }
      }, { threshold: 0.5 });
      for (const li of ul.children) this._cards.observe(li);
    }
    _click(ev, item, pos) {
      const rec = this.rec;
      const detail = { item_id: item.item_id, rec_id: rec.rec_id, variant: rec.variant || null, position: pos, widget: this.localName, item: item };
      send(this.api, this.key, [this._event("click", item.item_id, pos, rec)]);
      const ok = this.dispatchEvent(new CustomEvent("visrec:click", { bubbles: true, composed: true, cancelable: true, detail: detail }));
      if (!ok) ev.preventDefault();
    }
  }

  class Similar extends Carousel {
    get defaultHeading() { return "Similar items"; }
    connectedCallback() { super.connectedCallback(); if (!this.hasAttribute("no-view")) view(this.getAttribute("item-id")); }
    attributeChangedCallback(name, a, b) {
      if (name === "item-id" && a !== b && b && !this.hasAttribute("no-view")) view(b);
      super.attributeChangedCallback(name, a, b);
    }
    load() {
      const id = this.getAttribute("item-id");
      if (!id) return Promise.resolve(null);
      const q = this._query();
      const mode = this.getAttribute("mode");
      if (mode) q.set("mode", mode);
      q.append("exclude", id);
      return this._get("/v1/items/" + encodeURIComponent(id) + "/similar", q);
    }
  }

  class ForYou extends Carousel {
    get defaultHeading() { return "You may like"; }
    connectedCallback() {
      super.connectedCallback();
      if (this._listen) return;
      this._listen = () => { if (this._visible && !this.getAttribute("user-id")) this.refresh(); };
      addEventListener("visrec:viewed", this._listen);
      addEventListener("storage", (e) => { if (e.key === "visrec:viewed") this._listen(); });
    }
    async load() {
      const user = this.getAttribute("user-id");
      const q = this._query();
      if (user) {
        try { return await this._get("/v1/users/" + encodeURIComponent(user) + "/recommendations", q); } catch (e) { if (!/ 404 /.test(e.message)) throw e; }
      }
      const items = viewed();
      const body = { item_ids: items, k: this.limit, exclude: items, visitor_id: visitorId() };
      if (user) body.user_id = user;
      const cats = q.getAll("category");
      if (cats.length) body.category = cats;
      return this._post("/v1/recommendations", body);
    }
  }

  customElements.define("visrec-similar", Similar);
  customElements.define("visrec-for-you", ForYou);
  window.visrec = Object.assign(window.visrec || {}, { view: view, viewed: viewed, visitorId: visitorId, flush: flush });
})();
