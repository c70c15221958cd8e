// The map of the detail page, as in the case leaktrace was born from: it
// waits for the map script (AMap) to load in the browser, polling every
// 300 ms. Which lifecycle method starts the polling is the whole story.
//
// - UNSAFE_componentWillMount runs on the server too, inside renderToString.
//   There the map script never loads and the component is never unmounted,
//   so the interval is never cleared. Armed on the global jsdom window, it
//   keeps its callback, the callback keeps the component, and the component
//   keeps its props: the request's store, about 1.2 MB. One more per request.
// - componentDidMount runs only in the browser: the fix.
'use strict';

const React = require('react');

const h = React.createElement;
const POLL_MS = 300;

class MapPanel extends React.Component {
  waitForMap() {
    const panel = this;
    this.handler = window.setInterval(function pollForMap() {
      if (window.AMap) {
        window.clearInterval(panel.handler);
        panel.showMap(window.AMap);
      }
    }, POLL_MS);
  }

  showMap(AMap) {
    const { from, to } = this.props.route;
    this.map = new AMap.Map('map', { zoom: 5 });
    this.map.setCity(`${from}-${to}`);
  }

  componentWillUnmount() {
    window.clearInterval(this.handler);
  }

  render() {
    const { from, to } = this.props.route;
    return h('div', { id: 'map', 'data-from': from, 'data-to': to }, `Map: ${from} to ${to}`);
  }
}

// The bug: polling started during the server's render.
class LeakyMapPanel extends MapPanel {
  UNSAFE_componentWillMount() {
    this.waitForMap();
  }
}

// The fix: polling started once mounted, which happens in the browser only.
class FixedMapPanel extends MapPanel {
  componentDidMount() {
    this.waitForMap();
  }
}

module.exports = { LeakyMapPanel, FixedMapPanel, POLL_MS };
