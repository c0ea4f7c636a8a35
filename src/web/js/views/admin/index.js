// The admin console's pages (admins only; the API answers 403 to anyone else anyway).
import * as settings from './settings.js';

const page = (name, view) => ({path: new RegExp(`^/admin/${name}$`), view, sub: name});

export const adminRoutes = [
  {path: /^\/admin\/?$/, to: '/admin/settings'},
  page('settings', settings),
];
