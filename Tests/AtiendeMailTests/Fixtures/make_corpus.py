#!/usr/bin/env python3
"""Writes the MIME fixture corpus: real-shaped messages (Outlook, Gmail, Apple Mail, phones, Spanish charsets, nested
multiparts, bounces, auto-replies, invitations, malformed ones) as `NN-name.eml`, with what a parser must find in them
as `NN-name.json`. Where Python's own `email` package can read a message, the expectations are checked against it
too, so the corpus does not just mirror our parser. Run it to regenerate; the files are committed.
"""
import base64
import email
import email.policy
import json
import os
import quopri

HERE = os.path.dirname(os.path.abspath(__file__))
corpus = []


def b64(data, width=76):
    raw = base64.b64encode(data).decode()
    return "\r\n".join(raw[i:i + width] for i in range(0, len(raw), width))


def qp(text, charset="utf-8"):
    return quopri.encodestring(text.encode(charset)).decode("ascii").replace("\n", "\r\n")


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def add(name, raw, expect, line_endings="crlf", python_check=True):
    data = raw if isinstance(raw, bytes) else (crlf(raw) if line_endings == "crlf" else raw).encode("utf-8")
    corpus.append((name, data, expect, python_check))


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")
ICS = crlf("BEGIN:VCALENDAR\nVERSION:2.0\nMETHOD:REQUEST\nBEGIN:VEVENT\nUID:reunion-42@example.com\nSUMMARY:Revisión de pedido\n"
           "DTSTART:20261125T140000Z\nDTEND:20261125T143000Z\nEND:VEVENT\nEND:VCALENDAR\n")

OUTLOOK_REPLY = b64(("Adjunto la foto del paquete dañado.\r\n\r\n[cid:image001.png@01DB3E]\r\n\r\nDe: Soporte Tienda <soporte@tienda.cl>\r\n"
                     "Enviado: lunes, 23 de noviembre de 2026 18:00\r\nPara: Carla Rojas <carla@empresa.cl>\r\nAsunto: Problema con la entrega\r\n\r\n"
                     "Hola Carla, ¿nos envías una foto?\r\n").encode())

# --- Outlook -------------------------------------------------------------------------------------------------------
add("outlook-html-cp1252", f"""Received: from EXCH01.contoso.local (10.0.0.5) by EXCH02.contoso.local
From: =?iso-8859-1?Q?Jos=E9_Mu=F1oz?= <jose.munoz@contoso.cl>
To: "Soporte Tienda" <soporte@tienda.cl>
Subject: =?iso-8859-1?Q?Cotizaci=F3n_pedido_n=BA_5521?=
Thread-Topic: =?iso-8859-1?Q?Cotizaci=F3n_pedido_n=BA_5521?=
Thread-Index: AdnN1mXk3VJ+0CvsT0yS1wS6k3l9Ug==
Date: Mon, 23 Nov 2026 13:05:12 +0000
Message-ID: <DM6PR01MB5020A1B2C3D4E5F6@DM6PR01MB5020.prod.exchangelabs.com>
Accept-Language: es-CL, en-US
Content-Language: es-CL
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
Content-Type: multipart/alternative;
\tboundary="_000_DM6PR01MB5020A1B2C3D4E5F6DM6PR01MB5020prod_"
MIME-Version: 1.0

--_000_DM6PR01MB5020A1B2C3D4E5F6DM6PR01MB5020prod_
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

{qp("Estimados, necesito la cotización del pedido nº 5521 — ¿está “listo”?", "cp1252")}

Saludos,
Jos=E9

--_000_DM6PR01MB5020A1B2C3D4E5F6DM6PR01MB5020prod_
Content-Type: text/html; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

<html><head><meta http-equiv=3D"Content-Type" content=3D"text/html; charset=3D=
iso-8859-1"></head><body><p>Estimados, necesito la cotizaci=F3n</p></body></html>

--_000_DM6PR01MB5020A1B2C3D4E5F6DM6PR01MB5020prod_--
""", {"subject": "Cotización pedido nº 5521", "from": ["jose.munoz@contoso.cl", "José Muñoz"], "to": ["soporte@tienda.cl"],
      "message_id": "DM6PR01MB5020A1B2C3D4E5F6@DM6PR01MB5020.prod.exchangelabs.com",
      "text_contains": ["cotización del pedido nº 5521 — ¿está “listo”?", "Saludos,"], "html": True, "attachments": [], "automatic": False})

add("outlook-inline-image", f"""From: Carla Rojas <carla@empresa.cl>
To: soporte@tienda.cl
Subject: RE: Problema con la entrega
Date: Tue, 24 Nov 2026 09:01:00 -0300
Message-ID: <SN6PR02MB4157B@SN6PR02MB4157.namprd02.prod.outlook.com>
In-Reply-To: <atiende.c1.m2@tienda.cl>
References: <atiende.c1.m1@tienda.cl> <atiende.c1.m2@tienda.cl>
MIME-Version: 1.0
Content-Type: multipart/related; boundary="_004_SN6PR02MB4157B_"; type="multipart/alternative"

--_004_SN6PR02MB4157B_
Content-Type: multipart/alternative; boundary="_000_SN6PR02MB4157B_"

--_000_SN6PR02MB4157B_
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{OUTLOOK_REPLY}

--_000_SN6PR02MB4157B_
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: base64

{b64('<html><body><p>Adjunto la foto del paquete da&ntilde;ado.</p><img src="cid:image001.png@01DB3E"></body></html>'.encode())}

--_000_SN6PR02MB4157B_--

--_004_SN6PR02MB4157B_
Content-Type: image/png; name="image001.png"
Content-Description: image001.png
Content-Disposition: inline; filename="image001.png"; size={len(PNG)}
Content-ID: <image001.png@01DB3E>
Content-Transfer-Encoding: base64

{b64(PNG)}

--_004_SN6PR02MB4157B_--
""", {"subject": "RE: Problema con la entrega", "from": ["carla@empresa.cl", "Carla Rojas"], "in_reply_to": ["atiende.c1.m2@tienda.cl"],
      "references": ["atiende.c1.m1@tienda.cl", "atiende.c1.m2@tienda.cl"], "text_contains": ["paquete dañado", "Enviado: lunes"],
      "html": True, "attachments": [{"filename": "image001.png", "content_type": "image/png", "size": len(PNG), "inline": True,
                                     "content_id": "image001.png@01DB3E"}], "automatic": False})

add("outlook-encoded-filename", f"""From: "Pérez, Ana" <ana.perez@contoso.cl>
To: soporte@tienda.cl
Subject: Factura adjunta
Date: Wed, 25 Nov 2026 10:00:00 +0000
Message-ID: <abc123@contoso.cl>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="_002_abc_"

--_002_abc_
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

Les envío la factura corregida.

--_002_abc_
Content-Type: application/pdf; name="=?utf-8?B?RmFjdHVyYSBuwrogMTIzIC0gY29ycmVnaWRhLnBkZg==?="
Content-Description: =?utf-8?B?RmFjdHVyYSBuwrogMTIzIC0gY29ycmVnaWRhLnBkZg==?=
Content-Disposition: attachment; filename="=?utf-8?B?RmFjdHVyYSBuwrogMTIzIC0gY29ycmVnaWRhLnBkZg==?="; size={len(PDF)}
Content-Transfer-Encoding: base64

{b64(PDF)}

--_002_abc_--
""", {"subject": "Factura adjunta", "from": ["ana.perez@contoso.cl", "Pérez, Ana"], "text_contains": ["factura corregida"],
      "attachments": [{"filename": "Factura nº 123 - corregida.pdf", "content_type": "application/pdf", "size": len(PDF), "inline": False}]})

add("outlook-auto-reply", """From: Pedro Soto <psoto@contoso.cl>
To: soporte@tienda.cl
Subject: =?utf-8?Q?Respuesta_autom=C3=A1tica:_Consulta?=
Date: Wed, 25 Nov 2026 10:00:05 +0000
Message-ID: <auto-1@contoso.cl>
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: psoto@contoso.cl
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

Estoy fuera de la oficina hasta el lunes 30 de noviembre.
""", {"subject": "Respuesta automática: Consulta", "automatic": True, "text_contains": ["fuera de la oficina"]})

# --- Gmail ---------------------------------------------------------------------------------------------------------
add("gmail-reply-quoted", f"""MIME-Version: 1.0
Date: Thu, 26 Nov 2026 11:22:33 -0300
References: <atiende.c7.m1@tienda.cl>
In-Reply-To: <atiende.c7.m1@tienda.cl>
Message-ID: <CAF=gmail1234567890abcdef@mail.gmail.com>
Subject: Re: [#7] Cambio de talla
From: Marta Silva <marta.silva@gmail.com>
To: Soporte Tienda <reply+c7tok@tienda.cl>
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f60718"

--000000000000a1b2c3d4e5f60718
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{qp("Perfecto, la talla M me sirve. ¡Gracias!")}

El jue, 26 nov 2026 a las 10:00, Soporte Tienda (<soporte@tienda.cl>)
escribi=C3=B3:

> Hola Marta, tenemos la talla M.
>

--000000000000a1b2c3d4e5f60718
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">Perfecto, la talla M me sirve. =C2=A1Gracias!</div><br><div =
class=3D"gmail_quote"><div dir=3D"ltr" class=3D"gmail_attr">El jue, 26 nov 20=
26 a las 10:00, Soporte Tienda escribi=C3=B3:<br></div><blockquote class=3D"gmail_quote">Hola Marta</blockquote></div>

--000000000000a1b2c3d4e5f60718--
""", {"subject": "Re: [#7] Cambio de talla", "from": ["marta.silva@gmail.com", "Marta Silva"], "to": ["reply+c7tok@tienda.cl"],
      "in_reply_to": ["atiende.c7.m1@tienda.cl"], "text_contains": ["¡Gracias!", "escribió:", "> Hola Marta"], "html": True})

add("gmail-pdf-attachment", f"""MIME-Version: 1.0
Date: Thu, 26 Nov 2026 12:00:00 -0300
Message-ID: <CAF=pdf@mail.gmail.com>
Subject: Boleta de compra
From: Luis <luis.rojas@gmail.com>
To: soporte@tienda.cl
Content-Type: multipart/mixed; boundary="0000000000004d5e6f"

--0000000000004d5e6f
Content-Type: multipart/alternative; boundary="0000000000004d5e6d"

--0000000000004d5e6d
Content-Type: text/plain; charset="UTF-8"

Adjunto la boleta.

--0000000000004d5e6d
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">Adjunto la boleta.</div>

--0000000000004d5e6d--
--0000000000004d5e6f
Content-Type: application/pdf; name="boleta.pdf"
Content-Disposition: attachment; filename="boleta.pdf"
Content-Transfer-Encoding: base64
Content-ID: <f_lxyz123>
X-Attachment-Id: f_lxyz123

{b64(PDF)}
--0000000000004d5e6f--
""", {"subject": "Boleta de compra", "text_contains": ["Adjunto la boleta."], "text_not_contains": ["<div"],
      "attachments": [{"filename": "boleta.pdf", "content_type": "application/pdf", "size": len(PDF), "inline": False}]})

add("gmail-forwarded-rfc822", f"""MIME-Version: 1.0
Date: Fri, 27 Nov 2026 08:00:00 -0300
Message-ID: <CAF=fwd@mail.gmail.com>
Subject: Fwd: Confirmación de despacho
From: Rosa <rosa@gmail.com>
To: soporte@tienda.cl
Content-Type: multipart/mixed; boundary="fwd-boundary"

--fwd-boundary
Content-Type: text/plain; charset="UTF-8"

Les reenvío el correo del courier.

--fwd-boundary
Content-Type: message/rfc822
Content-Disposition: attachment; filename="Confirmación de despacho.eml"

From: courier@despachos.cl
To: rosa@gmail.com
Subject: Confirmación de despacho
Message-ID: <courier-1@despachos.cl>
Content-Type: text/plain; charset=utf-8

Su pedido fue despachado.

--fwd-boundary--
""", {"subject": "Fwd: Confirmación de despacho", "text_contains": ["Les reenvío"], "text_not_contains": ["Su pedido fue despachado"],
      "attachments": [{"filename": "Confirmación de despacho.eml", "content_type": "message/rfc822", "inline": False}]})

add("gmail-english-quote", """MIME-Version: 1.0
Date: Fri, 27 Nov 2026 09:00:00 +0000
Message-ID: <CAF=en@mail.gmail.com>
Subject: Re: Your order
From: John Smith <john@example.com>
To: support@shop.example
Content-Type: text/plain; charset="UTF-8"

Thanks, that works.

On Thu, Nov 26, 2026 at 5:00 PM Shop Support <support@shop.example> wrote:
> Your order shipped.
""", {"subject": "Re: Your order", "from": ["john@example.com", "John Smith"], "text_contains": ["Thanks, that works.", "wrote:"]})

# --- Apple Mail ----------------------------------------------------------------------------------------------------
add("apple-split-around-image", f"""From: =?utf-8?Q?In=C3=A9s_Vald=C3=A9s?= <ines@icloud.com>
Content-Type: multipart/mixed; boundary="Apple-Mail=_8A1B2C3D-4E5F-6789-ABCD-EF0123456789"
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))
Subject: Foto del producto
Message-Id: <8A1B2C3D@icloud.com>
Date: Sat, 28 Nov 2026 10:11:12 -0300
To: soporte@tienda.cl

--Apple-Mail=_8A1B2C3D-4E5F-6789-ABCD-EF0123456789
Content-Transfer-Encoding: quoted-printable
Content-Type: text/plain;
\tcharset=utf-8

{qp("Así llegó el producto:")}

--Apple-Mail=_8A1B2C3D-4E5F-6789-ABCD-EF0123456789
Content-Disposition: inline;
\tfilename=IMG_0042.png
Content-Type: image/png;
\tx-unix-mode=0644;
\tname="IMG_0042.png"
Content-Transfer-Encoding: base64

{b64(PNG)}

--Apple-Mail=_8A1B2C3D-4E5F-6789-ABCD-EF0123456789
Content-Transfer-Encoding: 7bit
Content-Type: text/plain;
\tcharset=us-ascii


Saludos

--Apple-Mail=_8A1B2C3D-4E5F-6789-ABCD-EF0123456789--
""", {"subject": "Foto del producto", "from": ["ines@icloud.com", "Inés Valdés"], "text_contains": ["Así llegó el producto:", "Saludos"],
      "attachments": [{"filename": "IMG_0042.png", "content_type": "image/png", "size": len(PNG), "inline": True}]})

add("apple-rfc2231-filename", f"""From: Tomás <tomas@me.com>
Content-Type: multipart/mixed; boundary="Apple-Mail=_X"
Mime-Version: 1.0
Subject: Contrato
Message-Id: <X1@me.com>
Date: Sat, 28 Nov 2026 11:00:00 -0300
To: soporte@tienda.cl

--Apple-Mail=_X
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Va el contrato firmado.

--Apple-Mail=_X
Content-Disposition: attachment;
\tfilename*=utf-8''Contrato%20firmado%20%E2%80%93%20Tom%C3%A1s.pdf
Content-Type: application/pdf;
\tx-unix-mode=0644;
\tname*=utf-8''Contrato%20firmado%20%E2%80%93%20Tom%C3%A1s.pdf
Content-Transfer-Encoding: base64

{b64(PDF)}
--Apple-Mail=_X--
""", {"subject": "Contrato", "text_contains": ["contrato firmado"],
      "attachments": [{"filename": "Contrato firmado – Tomás.pdf", "content_type": "application/pdf", "size": len(PDF), "inline": False}]})

add("apple-english-wrote", """From: Kate <kate@icloud.com>
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit
Mime-Version: 1.0
Subject: Re: Refund
Date: Sun, 29 Nov 2026 12:00:00 +0000
Message-Id: <K1@icloud.com>
In-Reply-To: <atiende.c9.m3@tienda.cl>
References: <atiende.c9.m3@tienda.cl>
To: support@shop.example

Great, thank you.

> On 28 Nov 2026, at 18:00, Shop Support <support@shop.example> wrote:
>
> Your refund is on its way.
""", {"subject": "Re: Refund", "in_reply_to": ["atiende.c9.m3@tienda.cl"], "text_contains": ["Great, thank you."]})

# --- Phones --------------------------------------------------------------------------------------------------------
add("iphone-plain", """From: Camila <camila.p@gmail.com>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable
Mime-Version: 1.0 (1.0)
Subject: =?utf-8?Q?Consulta_r=C3=A1pida?=
Message-Id: <IPHONE-1@gmail.com>
Date: Mon, 30 Nov 2026 07:45:00 -0300
To: soporte@tienda.cl
X-Mailer: iPhone Mail (21G93)

=C2=BFTienen despacho a Temuco?

Enviado desde mi iPhone
""", {"subject": "Consulta rápida", "text_contains": ["¿Tienen despacho a Temuco?", "Enviado desde mi iPhone"]})

add("android-gmail-app", f"""MIME-Version: 1.0
From: Diego <diego.a@gmail.com>
Date: Mon, 30 Nov 2026 08:10:00 -0300
Message-ID: <CAKx=android@mail.gmail.com>
Subject: Pedido atrasado
To: soporte@tienda.cl
Content-Type: multipart/alternative; boundary="000000000000android"

--000000000000android
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

{b64("Mi pedido 7781 lleva una semana de atraso. ¿Qué pasó?".encode())}
--000000000000android
Content-Type: text/html; charset="UTF-8"

<div dir="auto">Mi pedido 7781 lleva una semana de atraso.</div>
--000000000000android--
""", {"subject": "Pedido atrasado", "text_contains": ["lleva una semana de atraso. ¿Qué pasó?"], "html": True})

add("samsung-latin1", f"""From: =?ISO-8859-1?Q?Mar=EDa_Jos=E9?= <mj@hotmail.es>
To: soporte@tienda.cl
Subject: =?ISO-8859-1?Q?Devoluci=F3n?=
Date: Mon, 30 Nov 2026 09:00:00 +0100
Message-ID: <SAMSUNG-1@hotmail.es>
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: 8bit

""".encode("utf-8") + "Quiero devolver las zapatillas, ¿cómo lo hago?\r\n\r\nEnviado desde mi Galaxy\r\n".encode("latin-1"),
    {"subject": "Devolución", "from": ["mj@hotmail.es", "María José"], "text_contains": ["¿cómo lo hago?", "Enviado desde mi Galaxy"]})

# --- Charsets ------------------------------------------------------------------------------------------------------
add("cp1252-curly-quotes", f"""From: info@empresa.cl
To: soporte@tienda.cl
Subject: Comillas
Date: Tue, 01 Dec 2026 10:00:00 -0300
Message-ID: <cp1252@empresa.cl>
MIME-Version: 1.0
Content-Type: text/plain; charset=windows-1252
Content-Transfer-Encoding: quoted-printable

{qp("El “descuento” de 10 € – válido hoy…", "cp1252")}
""", {"subject": "Comillas", "text_contains": ["El “descuento” de 10 € – válido hoy…"]})

add("latin1-mislabelled-cp1252", f"""From: ventas@proveedor.cl
To: soporte@tienda.cl
Subject: Oferta
Date: Tue, 01 Dec 2026 10:05:00 -0300
Message-ID: <mis@proveedor.cl>
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

{qp("Precio especial: 5 € — “sólo hoy”", "cp1252")}
""", {"subject": "Oferta", "text_contains": ["Precio especial: 5 € — “sólo hoy”"]}, python_check=False)

add("utf8-base64-body", f"""From: a@b.cl
To: soporte@tienda.cl
Subject: =?UTF-8?B?wr9EZXNwYWNobyBlbiBkw61hcyBow6FiaWxlcz8=?=
Date: Tue, 01 Dec 2026 10:10:00 -0300
Message-ID: <b64@b.cl>
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: base64

{b64("¿Despachan en días hábiles? Ñandú, pingüino, acción.".encode())}
""", {"subject": "¿Despacho en días hábiles?", "text_contains": ["Ñandú, pingüino, acción."]})

add("encoded-word-split", """From: =?UTF-8?Q?Jos=C3=A9?= =?UTF-8?Q?_P=C3=A9rez?= <jose@ejemplo.cl>
To: soporte@tienda.cl
Subject: =?UTF-8?B?QWN0dWFsaXphY2nDs24gZGU=?=
 =?UTF-8?B?IG1pIGRpcmVjY2nDs24=?=
Date: Tue, 01 Dec 2026 10:15:00 -0300
Message-ID: <split@ejemplo.cl>
Content-Type: text/plain; charset=utf-8

Nueva dirección: Av. Siempre Viva 742.
""", {"subject": "Actualización de mi dirección", "from": ["jose@ejemplo.cl", "José Pérez"], "text_contains": ["Av. Siempre Viva 742"]})

add("latin9-euro", """From: pagos@banco.es
To: soporte@tienda.cl
Subject: Pago
Date: Tue, 01 Dec 2026 10:20:00 +0100
Message-ID: <l9@banco.es>
Content-Type: text/plain; charset=iso-8859-15
Content-Transfer-Encoding: quoted-printable

Importe: 49,90 =A4
""", {"subject": "Pago", "text_contains": ["Importe: 49,90 €"]})

add("unknown-charset-label", """From: x@y.cl
To: soporte@tienda.cl
Subject: Charset raro
Date: Tue, 01 Dec 2026 10:25:00 -0300
Message-ID: <unk@y.cl>
Content-Type: text/plain; charset="x-unknown-charset"
Content-Transfer-Encoding: 8bit

Texto con tilde: canción.
""", {"subject": "Charset raro", "text_contains": ["Texto con tilde: canción."]}, python_check=False)

# --- Nested multiparts ---------------------------------------------------------------------------------------------
add("nested-mixed-alt-related", f"""From: marketing@tienda-partner.cl
To: soporte@tienda.cl
Subject: Catálogo
Date: Wed, 02 Dec 2026 10:00:00 -0300
Message-ID: <nest@partner.cl>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="m1"

--m1
Content-Type: multipart/alternative; boundary="a1"

--a1
Content-Type: text/plain; charset=utf-8

Versión texto del catálogo.
--a1
Content-Type: multipart/related; boundary="r1"

--r1
Content-Type: text/html; charset=utf-8

<p>Versión <b>HTML</b> del catálogo</p><img src="cid:logo">
--r1
Content-Type: image/png
Content-ID: <logo>
Content-Transfer-Encoding: base64

{b64(PNG)}
--r1--
--a1--
--m1
Content-Type: application/pdf; name=catalogo.pdf
Content-Disposition: attachment; filename=catalogo.pdf
Content-Transfer-Encoding: base64

{b64(PDF)}
--m1--
""", {"subject": "Catálogo", "text_contains": ["Versión texto del catálogo."], "html": True,
      "attachments": [{"filename": "image-1.png", "content_type": "image/png", "inline": True, "content_id": "logo"},
                      {"filename": "catalogo.pdf", "content_type": "application/pdf", "inline": False}]}, python_check=False)

deep = "Mensaje en lo profundo."
for n in range(6, 0, -1):
    deep = f"Content-Type: multipart/mixed; boundary=\"d{n}\"\n\n--d{n}\n" + (deep if deep.startswith("Content-Type") else "Content-Type: text/plain; charset=utf-8\n\n" + deep) + f"\n--d{n}--\n"
add("deeply-nested", f"""From: a@b.cl
To: soporte@tienda.cl
Subject: Profundo
Date: Wed, 02 Dec 2026 10:05:00 -0300
Message-ID: <deep@b.cl>
MIME-Version: 1.0
{deep}""", {"subject": "Profundo", "text_contains": ["Mensaje en lo profundo."]})

add("digest", """From: lista@grupo.cl
To: soporte@tienda.cl
Subject: Resumen diario
Date: Wed, 02 Dec 2026 10:10:00 -0300
Message-ID: <digest@grupo.cl>
MIME-Version: 1.0
Content-Type: multipart/digest; boundary="dg"

--dg

From: uno@grupo.cl
Subject: Primero

Hola uno.
--dg

From: dos@grupo.cl
Subject: Segundo

Hola dos.
--dg--
""", {"subject": "Resumen diario", "attachments": [{"filename": "forwarded-1.eml", "content_type": "message/rfc822"},
                                                   {"filename": "forwarded-2.eml", "content_type": "message/rfc822"}]}, python_check=False)

# --- Bounces -------------------------------------------------------------------------------------------------------
add("bounce-dsn-550", """Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.tienda.cl>
To: soporte@tienda.cl
Subject: Undelivered Mail Returned to Sender
Date: Thu, 03 Dec 2026 10:00:00 -0300
Message-Id: <dsn-1@mx.tienda.cl>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"

--dsn
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.tienda.cl.
I'm sorry to have to inform you that your message could not be delivered.

--dsn
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.tienda.cl
Arrival-Date: Thu,  3 Dec 2026 09:59:58 -0300 (-03)

Final-Recipient: rfc822; noexiste@gmail.com
Original-Recipient: rfc822;noexiste@gmail.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does
    not exist.

--dsn
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Soporte Tienda <soporte@tienda.cl>
To: noexiste@gmail.com
Subject: [#12] Tu pedido
Message-ID: <atiende.c12.m5@tienda.cl>

--dsn--
""", {"subject": "Undelivered Mail Returned to Sender", "automatic": True,
      "report": {"action": "failed", "status": "5.1.1", "final_recipient": "noexiste@gmail.com", "original_message_id": "atiende.c12.m5@tienda.cl",
                 "diagnostic_contains": "does not exist", "permanent": True}})

add("bounce-delayed", """Return-Path: <>
From: postmaster@mx.tienda.cl
To: soporte@tienda.cl
Subject: Delayed Mail (still being retried)
Date: Thu, 03 Dec 2026 14:00:00 -0300
Message-Id: <dsn-2@mx.tienda.cl>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dly"

--dly
Content-Type: text/plain; charset=us-ascii

Your message has been delayed.
--dly
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.tienda.cl

Final-Recipient: rfc822; lento@empresa.cl
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.empresa.cl: Connection timed out
--dly
Content-Type: message/rfc822

From: soporte@tienda.cl
To: lento@empresa.cl
Subject: Re: Cotización
Message-ID: <atiende.c3.m2@tienda.cl>

Hola.
--dly--
""", {"automatic": True, "report": {"action": "delayed", "status": "4.4.1", "final_recipient": "lento@empresa.cl",
                                   "original_message_id": "atiende.c3.m2@tienda.cl", "permanent": False}})

add("bounce-exchange-ndr", """From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.cl>
To: <soporte@tienda.cl>
Subject: =?utf-8?B?Tm8gc2UgcHVkbyBlbnRyZWdhcjogW8KgIzQ1XSBDb25zdWx0YQ==?=
Date: Thu, 03 Dec 2026 15:00:00 +0000
Message-ID: <ndr-1@contoso.cl>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="ndr"

--ndr
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

No se pudo entregar el mensaje a estos destinatarios: x@contoso.cl
--ndr
Content-Type: message/delivery-status

Reporting-MTA: dns;BN6PR01.prod.outlook.com

Final-recipient: RFC822; x@contoso.cl
Action: failed
Status: 5.2.2
Diagnostic-code: smtp;554 5.2.2 mailbox full
--ndr
Content-Type: text/rfc822-headers

Message-ID: <atiende.c45.m1@tienda.cl>
Subject: [#45] Consulta
--ndr--
""", {"subject": "No se pudo entregar: [\u00a0#45] Consulta", "automatic": True,
      "report": {"status": "5.2.2", "final_recipient": "x@contoso.cl", "original_message_id": "atiende.c45.m1@tienda.cl", "permanent": True}},
    python_check=False)

# --- Auto-replies and lists ----------------------------------------------------------------------------------------
add("vacation-empty-return-path", """Return-Path: <>
From: Ana <ana@empresa.cl>
To: soporte@tienda.cl
Subject: Vacaciones
Date: Fri, 04 Dec 2026 10:00:00 -0300
Message-ID: <vac@empresa.cl>
Content-Type: text/plain; charset=utf-8

Estoy de vacaciones.
""", {"automatic": True})

add("newsletter-bulk-list", """From: Novedades <news@marca.cl>
To: soporte@tienda.cl
Subject: Ofertas de la semana
Date: Fri, 04 Dec 2026 10:05:00 -0300
Message-ID: <news@marca.cl>
Precedence: bulk
List-Id: Ofertas <ofertas.marca.cl>
List-Unsubscribe: <mailto:unsubscribe@marca.cl>
Content-Type: text/html; charset=utf-8

<html><body><h1>Ofertas</h1><p>50% en zapatillas &amp; poleras</p><script>alert(1)</script></body></html>
""", {"automatic": True, "html": True, "text_contains": ["50% en zapatillas & poleras"], "text_not_contains": ["alert(1)", "<p>"]})

add("x-loop", """From: robot@otro-helpdesk.cl
To: soporte@tienda.cl
Subject: Ticket recibido
Date: Fri, 04 Dec 2026 10:10:00 -0300
Message-ID: <loop@otro.cl>
X-Loop: helpdesk@otro-helpdesk.cl
Content-Type: text/plain

Recibimos su ticket.
""", {"automatic": True})

add("auto-submitted-no-is-human", """From: Cliente <cliente@empresa.cl>
To: soporte@tienda.cl
Subject: Consulta normal
Date: Fri, 04 Dec 2026 10:15:00 -0300
Message-ID: <human@empresa.cl>
Auto-Submitted: no
Content-Type: text/plain; charset=utf-8

Una consulta escrita por una persona.
""", {"automatic": False})

# --- Calendar invitations -------------------------------------------------------------------------------------------
add("calendar-invite-alternative", f"""From: Organizador <org@empresa.cl>
To: soporte@tienda.cl
Subject: Invitación: Revisión de pedido
Date: Sat, 05 Dec 2026 10:00:00 -0300
Message-ID: <cal@empresa.cl>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="cal-mixed"

--cal-mixed
Content-Type: multipart/alternative; boundary="cal-alt"

--cal-alt
Content-Type: text/plain; charset=UTF-8

Te invito a revisar el pedido el miércoles.
--cal-alt
Content-Type: text/calendar; charset=UTF-8; method=REQUEST
Content-Transfer-Encoding: base64

{b64(ICS.encode())}
--cal-alt--
--cal-mixed
Content-Type: application/ics; name="invite.ics"
Content-Disposition: attachment; filename="invite.ics"
Content-Transfer-Encoding: base64

{b64(ICS.encode())}
--cal-mixed--
""", {"subject": "Invitación: Revisión de pedido", "text_contains": ["revisar el pedido el miércoles"], "text_not_contains": ["BEGIN:VCALENDAR"],
      "attachments": [{"filename": "invite-1.ics", "content_type": "text/calendar"}, {"filename": "invite.ics", "content_type": "application/ics"}]},
    python_check=False)

add("calendar-only", f"""From: org@empresa.cl
To: soporte@tienda.cl
Subject: Reunión
Date: Sat, 05 Dec 2026 10:05:00 -0300
Message-ID: <cal2@empresa.cl>
MIME-Version: 1.0
Content-Type: text/calendar; charset=utf-8; method=REQUEST

{ICS}""", {"subject": "Reunión", "attachments": [{"filename": "invite-1.ics", "content_type": "text/calendar"}]}, python_check=False)

# --- RFC 2231 continuations and odd parameters ----------------------------------------------------------------------
add("rfc2231-continuations", f"""From: a@b.cl
To: soporte@tienda.cl
Subject: Archivo largo
Date: Sun, 06 Dec 2026 10:00:00 -0300
Message-ID: <cont@b.cl>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=simple

--simple
Content-Type: text/plain

Adjunto.
--simple
Content-Type: application/pdf
Content-Disposition: attachment;
 filename*0*=UTF-8''Informe%20de%20devoluci%C3%B3n%20;
 filename*1*=de%20productos%20da%C3%B1ados;
 filename*2=".pdf"
Content-Transfer-Encoding: base64

{b64(PDF)}
--simple--
""", {"subject": "Archivo largo", "attachments": [{"filename": "Informe de devolución de productos dañados.pdf", "content_type": "application/pdf"}]})

add("quoted-boundary-with-specials", """From: a@b.cl
To: soporte@tienda.cl
Subject: Boundary raro
Date: Sun, 06 Dec 2026 10:05:00 -0300
Message-ID: <bnd@b.cl>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="==_Part_1;x=2 (comment)"

--==_Part_1;x=2 (comment)
Content-Type: text/plain; charset=utf-8

Texto dentro de un boundary con punto y coma.
--==_Part_1;x=2 (comment)--
""", {"subject": "Boundary raro", "text_contains": ["boundary con punto y coma"]})

add("addresses-groups-and-comments", """From: "Soto, Pedro (Ventas)" <psoto@empresa.cl>
To: Equipo Soporte: uno@tienda.cl, "Dos, D." <dos@tienda.cl>;, tres@tienda.cl (Tres)
Cc: undisclosed-recipients:;
Reply-To: respuestas@empresa.cl
Subject: Direcciones
Date: Sun, 06 Dec 2026 10:10:00 -0300
Message-ID: <addr@empresa.cl>
Content-Type: text/plain

Hola.
""", {"from": ["psoto@empresa.cl", "Soto, Pedro (Ventas)"], "to": ["uno@tienda.cl", "dos@tienda.cl", "tres@tienda.cl"], "cc": [],
      "reply_to": ["respuestas@empresa.cl"]})

add("html-only-entities", """From: web@form.cl
To: soporte@tienda.cl
Subject: Formulario
Date: Sun, 06 Dec 2026 10:15:00 -0300
Message-ID: <html@form.cl>
Content-Type: text/html; charset=utf-8

<table><tr><td>Nombre:</td><td>Se&ntilde;ora L&oacute;pez</td></tr><tr><td>Mensaje:</td><td>&iquest;Tienen &#8220;garant&iacute;a&#8221;?</td></tr></table>
""", {"html": True, "text_contains": ["Señora López", "¿Tienen “garantía”?"], "text_not_contains": ["<td>"]})

# --- Malformed -----------------------------------------------------------------------------------------------------
add("truncated-multipart", f"""From: a@b.cl
To: soporte@tienda.cl
Subject: Cortado
Date: Mon, 07 Dec 2026 10:00:00 -0300
Message-ID: <trunc@b.cl>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="cut"

--cut
Content-Type: text/plain; charset=utf-8

Este correo se cortó a la mitad.
--cut
Content-Type: application/pdf; name=a.pdf
Content-Transfer-Encoding: base64

{b64(PDF)[:20]}""", {"subject": "Cortado", "text_contains": ["se cortó a la mitad"],
                     "attachments": [{"filename": "a.pdf", "content_type": "application/pdf"}]}, python_check=False)

add("multipart-without-boundary", """From: a@b.cl
To: soporte@tienda.cl
Subject: Sin boundary
Date: Mon, 07 Dec 2026 10:05:00 -0300
Message-ID: <nob@b.cl>
MIME-Version: 1.0
Content-Type: multipart/mixed

El remitente olvidó el boundary.
""", {"subject": "Sin boundary", "text_contains": ["olvidó el boundary"], "problems": True}, python_check=False)

add("boundary-never-appears", """From: a@b.cl
To: soporte@tienda.cl
Subject: Boundary ausente
Date: Mon, 07 Dec 2026 10:10:00 -0300
Message-ID: <abs@b.cl>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="nunca"

Texto sin partes.
""", {"subject": "Boundary ausente", "problems": True, "text_contains": ["Texto sin partes."]}, python_check=False)

add("bad-base64", """From: a@b.cl
To: soporte@tienda.cl
Subject: Base64 roto
Date: Mon, 07 Dec 2026 10:15:00 -0300
Message-ID: <b64bad@b.cl>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

SG9sYSwg!!!ZXN0byBlcyB\x01iYXNlNjQgcm90by4=
====
""", {"subject": "Base64 roto", "text_contains": ["Hola, "]}, python_check=False)

add("header-without-colon", """From: a@b.cl
To: soporte@tienda.cl
Esto no es un header
Subject: Header roto
Date: Mon, 07 Dec 2026 10:20:00 -0300
Message-ID: <hdr@b.cl>
Content-Type: text/plain

Cuerpo.
""", {"subject": "Header roto", "text_contains": ["Cuerpo."], "problems": True}, python_check=False)

add("lf-only-line-endings", """From: unix@b.cl
To: soporte@tienda.cl
Subject: Fin de línea LF
Date: Mon, 07 Dec 2026 10:25:00 -0300
Message-ID: <lf@b.cl>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="lf"

--lf
Content-Type: text/plain; charset=utf-8

Solo saltos LF.
--lf
Content-Type: text/html; charset=utf-8

<p>Solo saltos LF.</p>
--lf--
""", {"subject": "Fin de línea LF", "text_contains": ["Solo saltos LF."], "html": True}, line_endings="lf")

add("headers-only", """From: a@b.cl
To: soporte@tienda.cl
Subject: Sin cuerpo
Date: Mon, 07 Dec 2026 10:30:00 -0300
Message-ID: <nobody@b.cl>""", {"subject": "Sin cuerpo"}, python_check=False)

add("empty-message", "", {"subject": "", "from": None}, python_check=False)

add("binary-garbage", bytes(range(256)) * 4 + b"\r\n\r\n\x00\xff\xfe", {"subject": ""}, python_check=False)

add("nul-and-long-header", "From: a@b.cl\nTo: soporte@tienda.cl\nSubject: " + "x" * 5000 + "\nX-Bin: \x00\x01\x02\nMessage-ID: <nul@b.cl>\n\nTexto\x00con NUL.\n",
    {"message_id": "nul@b.cl", "text_contains": ["Texto"]}, python_check=False)

add("bad-date-and-no-mime-version", """From: a@b.cl
To: soporte@tienda.cl
Subject: Fecha rara
Date: ayer a las 5
Message-ID: <date@b.cl>

Sin MIME-Version ni fecha válida.
""", {"subject": "Fecha rara", "date": None, "text_contains": ["Sin MIME-Version"]})

add("date-with-comment", """From: a@b.cl
To: soporte@tienda.cl
Subject: Fecha con comentario
Date: Tue, 8 Dec 2026 10:00:00 -0300 (CLT)
Message-ID: <datec@b.cl>

Hola.
""", {"date": "2026-12-08T13:00:00Z"})


def check_with_python(name, data, expect):
    msg = email.message_from_bytes(data, policy=email.policy.default)
    if "subject" in expect and expect["subject"]:
        assert str(msg["subject"]) == expect["subject"], (name, str(msg["subject"]), expect["subject"])
    if expect.get("from"):
        addr = msg["from"].addresses[0]
        assert addr.addr_spec == expect["from"][0], (name, addr.addr_spec)
        if len(expect["from"]) > 1 and not any(0xDC80 <= ord(c) <= 0xDCFF for c in addr.display_name):  # raw 8-bit headers
            assert " ".join(addr.display_name.split()) == expect["from"][1], (name, addr.display_name)
    names = [part.get_filename() for part in msg.walk() if part.get_filename()]
    for attachment in expect.get("attachments", []):
        if not attachment["filename"].startswith(("image-", "invite-", "forwarded-")):
            assert attachment["filename"] in names, (name, attachment["filename"], names)
    # Every inline text/plain part, as Apple Mail splits a body around inline images.
    plain = [p for p in msg.walk() if p.get_content_type() == "text/plain" and p.get_content_disposition() != "attachment"]
    # Python reads "iso-8859-1" strictly; mail clients (and we) read it as Windows-1252, which Outlook really sends.
    if plain and all(p.get_content_charset() not in ("iso-8859-1",) for p in plain):
        text = "\n".join(p.get_content() for p in plain)
        for needle in expect.get("text_contains", []):
            assert needle in text, (name, needle, text[:200])


def main():
    for old in os.listdir(HERE):
        if old.endswith(".eml") or (old.endswith(".json") and old[:2].isdigit()):
            os.remove(os.path.join(HERE, old))
    for n, (name, data, expect, python_check) in enumerate(corpus, 1):
        base = f"{n:02d}-{name}"
        if python_check:
            check_with_python(base, data, expect)
        with open(os.path.join(HERE, base + ".eml"), "wb") as f:
            f.write(data)
        with open(os.path.join(HERE, base + ".json"), "w") as f:
            json.dump(expect, f, ensure_ascii=False, indent=1)
            f.write("\n")
    print(f"{len(corpus)} messages written")


main()
