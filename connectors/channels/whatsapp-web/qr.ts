import QRCode from 'qrcode';
import type { HttpResponse, RouteSpec } from '../../../src/core/connector.ts';
import type { WebSession } from './session.ts';

/**
 * The QR code as plain text for the log (no colour codes, so log viewers show it as it is),
 * drawn light-on-dark for the usual dark terminal; the PNG route works everywhere.
 */
export function qrForLog(qr: string): Promise<string> {
  return QRCode.toString(qr, { type: 'utf8', margin: 2, color: { dark: '#ffffff', light: '#000000' } });
}

/**
 * `GET /admin/channels/{id}/qr` (behind the admin token): the current QR code as a PNG while the
 * account waits to be linked; 409 once linked, 503 while there is no code yet.
 */
export function qrRoute(session: WebSession): RouteSpec {
  return {
    method: 'GET',
    prefix: 'admin',
    path: '/qr',
    async handler(): Promise<HttpResponse> {
      if (session.state === 'ready' || session.state === 'authenticated') {
        return { status: 409, body: { error: 'already_linked', message: 'this WhatsApp account is linked; no QR code is needed' } };
      }
      if (session.state !== 'qr' || !session.qr) {
        return { status: 503, body: { error: 'no_qr_code', message: `no QR code yet (${session.state}: ${session.detail}); try again in a few seconds` } };
      }
      const png = await QRCode.toBuffer(session.qr, { type: 'png', margin: 2, width: 360 });
      return { status: 200, body: png, headers: { 'content-type': 'image/png', 'cache-control': 'no-store' } };
    },
  };
}
