import QRCode from "qrcode";

/** The enrolment QR code as a PNG data: URI, so the page needs no extra request. */
export async function totpQrDataUri(uri: string): Promise<string> {
  // Level M (~15% recovery) is what authenticator apps scan reliably from a screen.
  return QRCode.toDataURL(uri, { type: "image/png", errorCorrectionLevel: "M" });
}
