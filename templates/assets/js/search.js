// Search box, match count, result list and stepping through matches.
import { el, clear, fmt } from './util.js';

const LIST_MAX = 200;

export class SearchUI {
  constructor(coll, handlers) {
    this.coll = coll;
    this.h = handlers; // {onInput(q), onPick(i), onStep(d)}
    this.input = document.getElementById('search');
    this.status = document.getElementById('search-status');
    this.stepBox = document.getElementById('search-step');
    this.stepPos = document.getElementById('step-pos');
    this.results = document.getElementById('results');
    this.list = document.getElementById('result-list');
    this.more = document.getElementById('result-more');
    this.input.addEventListener('input', () => this.h.onInput(this.input.value));
    document.getElementById('search-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.h.onStep(1);
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); this.h.onStep(e.shiftKey ? -1 : 1); }
      if (e.key === 'Escape') {
        e.stopPropagation();
        if (this.input.value) { this.input.value = ''; this.h.onInput(''); } else this.input.blur();
      }
    });
    document.getElementById('step-prev').addEventListener('click', () => this.h.onStep(-1));
    document.getElementById('step-next').addEventListener('click', () => this.h.onStep(1));
  }

  setQuery(q) {
    if (this.input.value !== q) this.input.value = q;
  }

  /** result: Filters.compute() output; pos: index of the current match in result.matches, or -1. */
  render(result, pos) {
    const { n } = this.coll;
    if (!result.active) {
      this.status.textContent = '';
      this.status.dataset.count = '';
      this.stepBox.hidden = true;
      this.results.hidden = true;
      document.body.classList.remove('is-filtered');
      return;
    }
    document.body.classList.add('is-filtered');
    const c = result.count;
    this.status.dataset.count = String(c);
    this.status.textContent = c === 0 ? `No matches among ${fmt(n)} items` : `${fmt(c)} of ${fmt(n)} items match`;
    this.stepBox.hidden = c === 0;
    this.renderPos(result, pos);
    this.results.hidden = false;
    clear(this.list);
    const m = result.matches;
    const k = Math.min(LIST_MAX, m.length);
    const frag = document.createDocumentFragment();
    for (let j = 0; j < k; j++) {
      const i = m[j];
      const b = el('button', { class: 'result-btn', text: this.coll.title[i] || 'Untitled', attrs: { type: 'button', 'data-item': i } });
      b.addEventListener('click', () => this.h.onPick(i));
      frag.append(el('li', {}, b));
    }
    this.list.append(frag);
    this.more.hidden = m.length <= LIST_MAX;
    this.more.textContent = m.length > LIST_MAX ? `and ${fmt(m.length - LIST_MAX)} more: refine the search, or step through them with ‹ ›` : '';
  }

  renderPos(result, pos) {
    this.stepPos.textContent = pos >= 0 ? `${fmt(pos + 1)} / ${fmt(result.count)}` : `${fmt(result.count)}`;
    for (const b of this.list.querySelectorAll('[aria-current]')) b.removeAttribute('aria-current');
    if (pos >= 0 && pos < LIST_MAX) {
      const b = this.list.children[pos] && this.list.children[pos].firstChild;
      if (b) { b.setAttribute('aria-current', 'true'); b.scrollIntoView({ block: 'nearest' }); }
    }
  }
}
