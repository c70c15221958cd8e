// The detail page of a route: the cheapest offers from the request's store
// and the map of the route. Plain React.createElement, no build step.
'use strict';

const React = require('react');
const { LeakyMapPanel, FixedMapPanel } = require('./MapPanel');

const h = React.createElement;
const SHOWN = 20;

function OfferRow({ offer }) {
  return h('tr', null,
    h('td', null, offer.carrier),
    h('td', null, `${offer.days} d`),
    h('td', null, offer.price.toFixed(2)));
}

function DetailPage({ store, fixed }) {
  const MapPanel = fixed ? FixedMapPanel : LeakyMapPanel;
  const cheapest = store.offers.slice(0, SHOWN);
  return h('main', null,
    h('h1', null, `${store.route.from} to ${store.route.to}: ${store.offers.length} offers`),
    h(MapPanel, { route: store.route, store }),
    h('table', null, h('tbody', null,
      cheapest.map((offer) => h(OfferRow, { key: offer.id, offer })))));
}

module.exports = { DetailPage };
