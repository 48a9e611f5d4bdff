// The header's account area: who is signed in, and the sign-out form's
// CSRF token. Shared by the dashboard and the all-sites overview.
import { h, hidden, replace } from './dom';

export interface Account {
  username: string;
  organisation: string;
}

/** Shows `user` in the header (nothing behind a shared link). */
export function showAccount(user: Account | null, csrf: string): void {
  const account = document.getElementById('account');
  if (!account || !user) return;
  replace(document.getElementById('account-user')!, hidden('Signed in as '), user.username, h('span', { class: 'gh-header__org' }, ` · ${user.organisation}`));
  (document.getElementById('logout-csrf') as HTMLInputElement).value = csrf;
  account.hidden = false;
}
