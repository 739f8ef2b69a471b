"""Read Device Identification (function code 43, MEI type 14) answered per simulated device.

pymodbus 3.16 answers FC43 from `ModbusControlBlock`, a process-wide singleton: every server
in a process shares one identity, so a firmware change on one simulated CHP showed on all of
them. The simulator answers FC43 itself (`dispatch.devices.modbus_sim` routes the request
here before pymodbus sees it), from the objects its own model reports now.

Per the Modbus application protocol (V1.1b3, 6.21): read codes 1 (basic: objects 0x00-0x02),
2 (regular: 0x00-0x06), 3 (extended: also 0x80-0xFF) stream from `object_id`, restarting at
object 0 when that object is not in the category or not implemented; read code 4 returns
exactly one object, exception 2 (illegal data address) if it is not implemented; another
read code is exception 3 (illegal data value). A device without identification objects
answers exception 1 (illegal function).
"""

from __future__ import annotations

from pymodbus.constants import ExcCodes
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.mei_message import ReadDeviceInformationRequest, ReadDeviceInformationResponse

OBJECT_IDS = {
    "VendorName": 0x00,
    "ProductCode": 0x01,
    "MajorMinorRevision": 0x02,
    "VendorUrl": 0x03,
    "ProductName": 0x04,
    "ModelName": 0x05,
    "UserApplicationName": 0x06,
}
BASIC, REGULAR, EXTENDED, SPECIFIC = 1, 2, 3, 4
_CATEGORY = {
    BASIC: range(0x00, 0x03),
    REGULAR: range(0x00, 0x07),
    EXTENDED: [*range(0x00, 0x07), *range(0x80, 0x100)],
}


def encode_objects(objects: dict[str, str]) -> dict[int, bytes]:
    """Named identification objects (`SimModel.fc43()`) as object id -> bytes."""
    return {OBJECT_IDS[name]: text.encode("utf-8") for name, text in objects.items()}


def select(objects: dict[int, bytes], read_code: int, object_id: int) -> dict[int, bytes] | int:
    """The objects a request asks for (id -> value, in id order), or a Modbus exception code."""
    if read_code == SPECIFIC:
        if object_id not in objects:
            return int(ExcCodes.ILLEGAL_ADDRESS)
        return {object_id: objects[object_id]}
    if read_code not in _CATEGORY:
        return int(ExcCodes.ILLEGAL_VALUE)
    ids = [i for i in _CATEGORY[read_code] if i in objects]
    if object_id not in ids:
        object_id = 0x00
    return {i: objects[i] for i in ids if i >= object_id}


def answer(request: ReadDeviceInformationRequest, objects: dict[str, str] | None) -> ModbusPDU:
    """The response of a device with identification `objects` (None: it has none)."""
    if objects is None:
        response: ModbusPDU = ExceptionResponse(request.function_code, ExcCodes.ILLEGAL_FUNCTION)
    else:
        chosen = select(encode_objects(objects), request.read_code, request.object_id)
        if isinstance(chosen, int):
            response = ExceptionResponse(request.function_code, chosen)
        else:
            response = ReadDeviceInformationResponse(
                read_code=request.read_code, information=chosen
            )
    response.transaction_id = request.transaction_id
    response.dev_id = request.dev_id
    return response


__all__ = ["OBJECT_IDS", "answer", "encode_objects", "select"]
